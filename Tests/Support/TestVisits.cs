using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Features.Analytics;

namespace Shortlink.Tests.Support;

/// <summary>
/// Visits at chosen moments, written through the service's own batch writer, exactly as a redirect at that moment
/// would have had them written: raw rows, visitors and rollups. Stats tests read them back through the API, so the
/// writer and the readers are held to the same expectations.
/// </summary>
internal static class TestVisits
{
    public const string Chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    public const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    public const string IPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    public const string Googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    /// <summary>A link's ids, which visits carry.</summary>
    public sealed record Link(string Code, Guid Id, Guid OwnerId)
    {
        public VisitEvent Visit(string at, string? referrer = null, string? agent = Chrome, string? country = null, ulong visitor = 1,
            string region = "test-1")
        {
            var occurredAt = DateTime.Parse(at, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
            return new VisitEvent(Guid.CreateVersion7(occurredAt), Id, OwnerId, Code, occurredAt, referrer, agent, country, visitor, region);
        }
    }

    public static async Task<Link> LinkAsync(string connectionString, string code)
    {
        await using var connection = new MySqlConnection(connectionString);
        var (id, owner) = await connection.QuerySingleAsync<(Guid, Guid)>("SELECT id, owner_id FROM links WHERE code = @code", new { code });
        return new Link(code, id, owner);
    }

    public static async Task WriteAsync(ShortlinkApp app, IEnumerable<VisitEvent> visits)
    {
        var writer = app.Services.GetRequiredService<VisitBatchWriter>();
        foreach (var batch in visits.Chunk(500))
        {
            Assert.That(await writer.TryWriteAsync(batch, CancellationToken.None), Is.True, "the database refused a batch of visits");
        }
    }
}
