namespace Shortlink.Infrastructure.Data;

/// <summary>Instants as a DATETIME(3) column keeps them: UTC, to the millisecond.</summary>
internal static class DatabaseTime
{
    /// <summary>What a write stores, so that what it returns equals what a later read returns.</summary>
    public static DateTime Stored(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);

    public static DateTime? Stored(DateTimeOffset? value) => value is { } v ? Stored(v) : null;

    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public static DateTimeOffset? Utc(DateTime? value) => value is { } v ? Utc(v) : null;
}
