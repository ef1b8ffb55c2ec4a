using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Analytics;

/// <summary>
/// Who a visitor is, without keeping who they are: the first 8 bytes of HMAC-SHA256 over (address, user agent)
/// keyed with a random salt of the UTC day. The salts live in the control database so that every instance hashes a
/// visitor alike, are made a day ahead, and are deleted once their day is over: from then on nobody, this service
/// included, can tell which address a stored hash came from, or link a visitor's days together. The address never
/// leaves the request; only the hash does.
/// </summary>
/// <remarks>
/// The error: two visitors behind one address with the same browser build count as one; a visitor who changes
/// network or browser counts again; one who comes back on another day counts once per day. An instance that could
/// not read a day's salt (the database was down when it tried) hashes with a salt of its own for that day, so the
/// same visitor may count once per such instance. In memory, a thread keeps its HMAC keyed with the salt it last
/// used until it hashes a visit of another day or ends, so a thread idle since midnight still holds the past day's key.
/// </remarks>
internal sealed class VisitorHashes(Databases databases, Outages outages, IOptions<ShortlinkOptions> options, TimeProvider clock,
    ILogger<VisitorHashes> logger) : BackgroundService
{
    private const int HashedUserAgentChars = 256;
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<DateOnly, byte[]> salts = new();

    public ulong Hash(IPAddress? address, string? userAgent, DateTime occurredAt)
    {
        var salt = SaltOf(DateOnly.FromDateTime(occurredAt));
        Span<byte> input = stackalloc byte[16 + HashedUserAgentChars * 3];
        var length = 0;
        if (address is not null && address.TryWriteBytes(input, out var written))
        {
            length = written;
        }
        if (userAgent is not null)
        {
            length += Encoding.UTF8.GetBytes(userAgent.AsSpan(0, Math.Min(userAgent.Length, HashedUserAgentChars)), input[length..]);
        }
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var hmac = HmacOf(salt);
        hmac.AppendData(input[..length]);
        hmac.GetHashAndReset(mac);
        return BinaryPrimitives.ReadUInt64BigEndian(mac);
    }

    /// <summary>
    /// This thread's HMAC keyed with the salt: set up once per thread and salt, then reset after each hash. Set up anew
    /// for every visit, as the one-shot HMACSHA256.HashData does, it cost the redirect more than the hash itself.
    /// </summary>
    private static IncrementalHash HmacOf(byte[] salt)
    {
        if (threadHmac is null || !ReferenceEquals(threadHmac.Salt, salt))
        {
            threadHmac?.Hmac.Dispose();
            threadHmac = new KeyedHmac(salt, IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, salt));
        }
        return threadHmac.Hmac;
    }

    [ThreadStatic]
    private static KeyedHmac? threadHmac;

    private sealed record KeyedHmac(byte[] Salt, IncrementalHash Hmac);

    private byte[] SaltOf(DateOnly day) =>
        salts.TryGetValue(day, out var salt) ? salt : salts.GetOrAdd(day, _ => RandomNumberGenerator.GetBytes(32));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Visits.Enabled)
        {
            return;
        }
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = Refresh;
            try
            {
                await SyncAsync(stoppingToken);
                if (failing)
                {
                    logger.LogInformation("Visitor salts are shared with the other instances again");
                    failing = false;
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                if (DatabaseFailures.IsUnavailable(exception))
                {
                    // Logged once for the whole service, with the outage's start and end.
                    outages.Database.Failed(exception);
                }
                else if (!failing)
                {
                    logger.LogWarning(exception, "Visitor salts could not be read; this instance hashes visitors with a salt of its own meanwhile");
                }
                failing = true;
                wait = RetryAfterFailure;
            }
            try
            {
                // Real time, not the service's clock: this paces retries, it reads no date.
                await Task.Delay(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Makes sure today's and tomorrow's salts exist, takes them, and deletes those whose day is over.</summary>
    internal async Task SyncAsync(CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        await using var connection = await databases.OpenControlAsync(ct);
        foreach (var day in new[] { today, today.AddDays(1) })
        {
            await connection.ExecuteAsync(new CommandDefinition("INSERT IGNORE INTO visitor_salts (day, salt) VALUES (@day, @salt)",
                new { day = day.ToDateTime(TimeOnly.MinValue), salt = RandomNumberGenerator.GetBytes(32) }, cancellationToken: ct));
            salts[day] = await connection.QuerySingleAsync<byte[]>(new CommandDefinition(
                "SELECT salt FROM visitor_salts WHERE day = @day", new { day = day.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
        }
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM visitor_salts WHERE day < @today",
            new { today = today.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
        foreach (var day in salts.Keys.Where(day => day < today))
        {
            salts.TryRemove(day, out _);
        }
    }
}
