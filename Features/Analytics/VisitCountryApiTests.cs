using System.Net;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics;

/// <summary>
/// A visit's country over HTTP, with the real GeoLite2 file configured: the trusted edge's header first, then the file's
/// answer for the client's address, else unknown. Tests connect from 127.0.0.1, so a public client address reaches the
/// service the way it does in production, through a trusted proxy's X-Forwarded-For.
/// </summary>
public sealed class VisitCountryApiTests : VisitCountryFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Shortlink:Network:TrustedProxies:0"] = "127.0.0.1/32",
    };

    [Test]
    public async Task A_visit_without_a_country_header_gets_the_country_of_its_client_address()
    {
        var code = await VisitAsync(client: "8.8.8.8", countryHeader: null);
        Assert.Multiple(async () =>
        {
            Assert.That(await CountryOfVisitAsync(code), Is.EqualTo("US"));
            Assert.That(await CountryRollupAsync(code, "US"), Is.EqualTo(1));
            Assert.That(await TextColumnsContainingAsync("8.8.8.8"), Is.Empty, "the address is looked up, never stored");
        });
    }

    [Test]
    public async Task The_trusted_edges_country_header_comes_before_the_file()
    {
        var code = await VisitAsync(client: "8.8.8.8", countryHeader: "de");
        Assert.That(await CountryOfVisitAsync(code), Is.EqualTo("DE"));
    }

    /// <summary>Cloudflare sends XX when it does not know: the file may.</summary>
    [Test]
    public async Task An_edge_that_does_not_know_the_country_leaves_it_to_the_file()
    {
        var code = await VisitAsync(client: "81.2.69.142", countryHeader: "XX");
        Assert.That(await CountryOfVisitAsync(code), Is.EqualTo("GB"));
    }

    [TestCase("10.1.2.3")]
    [TestCase(null)]
    public async Task A_private_or_loopback_client_address_has_no_country(string? client)
    {
        var code = await VisitAsync(client, countryHeader: null);
        Assert.Multiple(async () =>
        {
            Assert.That(await CountryOfVisitAsync(code), Is.Null);
            Assert.That(await CountryRollupAsync(code, ""), Is.EqualTo(1), "an unknown country is counted as ''");
        });
    }
}

/// <summary>
/// Without trusted proxies the connection's own address is the one looked up: X-Forwarded-For and the country header
/// are anyone's to write, so a client that forges them gets the country of where it really connects from (here, none).
/// </summary>
public sealed class VisitCountryWithoutProxiesApiTests : VisitCountryFixture
{
    [Test]
    public async Task A_forged_forwarded_address_and_country_header_are_not_believed()
    {
        var code = await VisitAsync(client: "8.8.8.8", countryHeader: "DE");
        Assert.Multiple(async () =>
        {
            Assert.That(await CountryOfVisitAsync(code), Is.Null);
            Assert.That(await CountryRollupAsync(code, ""), Is.EqualTo(1));
        });
    }
}

public abstract class VisitCountryFixture : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
        ["Shortlink:Visits:CountryHeader"] = "CF-IPCountry",
        ["Shortlink:Visits:CountryDatabase"] = CountryDatabases.GeoLite2,
    };

    /// <summary>Visits a new link of its own, from the given client address (through X-Forwarded-For) and country header, and waits for the visit's row.</summary>
    protected async Task<string> VisitAsync(string? client, string? countryHeader)
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/where" })).GetProperty("code").GetString()!;
        using var visitor = NewClient(key: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        if (client is not null)
        {
            request.Headers.Add("X-Forwarded-For", client);
        }
        if (countryHeader is not null)
        {
            request.Headers.Add("CF-IPCountry", countryHeader);
        }
        using var response = await visitor.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        await Eventually.TrueAsync(async () => await QueryScalarAsync<long>(
            "SELECT COUNT(*) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.code = @code", new { code }) == 1, TimeSpan.FromSeconds(10));
        return code;
    }

    protected Task<string?> CountryOfVisitAsync(string code) => QueryScalarAsync<string?>(
        "SELECT v.country FROM visits v JOIN links l ON l.id = v.link_id WHERE l.code = @code", new { code });

    protected Task<long> CountryRollupAsync(string code, string country) => QueryScalarAsync<long>("""
        SELECT COALESCE(SUM(r.visits), 0) FROM visit_rollups r JOIN links l ON l.id = r.link_id
        WHERE l.code = @code AND r.dimension = @dimension AND r.is_bot = 0 AND r.value = @country
        """, new { code, dimension = VisitRollups.Country, country });
}
