using Shortlink.Infrastructure;

namespace Shortlink.Features.Links;

/// <summary>A row of <c>links</c>; column order matches <see cref="LinkSql.Columns"/> for Dapper.</summary>
internal sealed record LinkRow(
    Guid Id,
    string Domain,
    string Code,
    string Url,
    string? Title,
    int RedirectType,
    bool ForwardQuery,
    DateTime? ValidFrom,
    DateTime? ExpiresAt,
    int? MaxVisits,
    long VisitCount,
    DateTime CreatedAt,
    DateTime UpdatedAt);

/// <summary>A link as the API shows it.</summary>
internal sealed record LinkResponse(
    string Code,
    string ShortUrl,
    string Url,
    string? Title,
    IReadOnlyList<string> Tags,
    int RedirectType,
    bool ForwardQuery,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ExpiresAt,
    int? MaxVisits,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static LinkResponse From(LinkRow row, IReadOnlyList<string> tags, ShortDomain domain) => new(
        row.Code,
        domain.ShortUrl(row.Code),
        row.Url,
        row.Title,
        tags,
        row.RedirectType,
        row.ForwardQuery,
        Utc(row.ValidFrom),
        Utc(row.ExpiresAt),
        row.MaxVisits,
        Utc(row.CreatedAt),
        Utc(row.UpdatedAt));

    public static string Location(string code) => $"/api/v1/links/{code}";

    /// <summary>The UTC millisecond-precision value a DATETIME(3) column keeps, so that what a write returns equals what a read returns.</summary>
    public static DateTime Stored(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);

    public static DateTime? Stored(DateTimeOffset? value) => value is { } v ? Stored(v) : null;

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    private static DateTimeOffset? Utc(DateTime? value) => value is { } v ? Utc(v) : null;
}
