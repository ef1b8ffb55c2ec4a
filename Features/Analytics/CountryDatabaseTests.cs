using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Shortlink.Infrastructure;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics;

/// <summary>Lookups in the real GeoLite2 file (ops/geo-fetch), and in small files for the schemas and mistakes it cannot show.</summary>
public sealed class CountryDatabaseTests
{
    private CountryDatabase geoLite2 = null!;

    [OneTimeSetUp]
    public void OpenGeoLite2() => geoLite2 = CountryDatabase.Open(CountryDatabases.GeoLite2);

    [OneTimeTearDown]
    public void CloseGeoLite2() => geoLite2.Dispose();

    [TestCase("8.8.8.8", "US")]
    [TestCase("2001:4860:4860::8888", "US")]
    [TestCase("81.2.69.142", "GB")]
    [TestCase("::ffff:8.8.8.8", "US")]
    public void A_public_address_has_the_files_country(string address, string country) =>
        Assert.That(geoLite2.CountryOf(IPAddress.Parse(address)), Is.EqualTo(country));

    /// <summary>Cloudflare's anycast resolver answers from everywhere: GeoLite2 names no country for it, so neither do visits.</summary>
    [Test]
    public void An_address_the_file_names_no_country_for_is_unknown() =>
        Assert.That(geoLite2.CountryOf(IPAddress.Parse("1.1.1.1")), Is.Null);

    [Test]
    public void No_address_is_unknown() => Assert.That(geoLite2.CountryOf(null), Is.Null);

    [TestCase("127.0.0.1")]
    [TestCase("10.20.30.40")]
    [TestCase("172.16.0.1")]
    [TestCase("172.31.255.255")]
    [TestCase("192.168.1.1")]
    [TestCase("100.64.0.1")]
    [TestCase("169.254.10.10")]
    [TestCase("0.1.2.3")]
    [TestCase("224.0.0.1")]
    [TestCase("255.255.255.255")]
    [TestCase("::1")]
    [TestCase("::")]
    [TestCase("fe80::1")]
    [TestCase("fd12:3456::1")]
    [TestCase("ff02::1")]
    [TestCase("::ffff:192.168.1.1")]
    public void An_address_that_is_nobodys_location_is_never_looked_up(string address)
    {
        var parsed = IPAddress.Parse(address);
        Assert.Multiple(() =>
        {
            Assert.That(CountryDatabase.IsPublic(parsed.IsIPv4MappedToIPv6 ? parsed.MapToIPv4() : parsed), Is.False);
            Assert.That(geoLite2.CountryOf(parsed), Is.Null);
        });
    }

    [TestCase("8.8.8.8")]
    [TestCase("100.63.255.255")]
    [TestCase("100.128.0.0")]
    [TestCase("172.15.255.255")]
    [TestCase("172.32.0.0")]
    [TestCase("169.253.1.1")]
    [TestCase("192.167.1.1")]
    [TestCase("223.255.255.255")]
    [TestCase("2001:4860:4860::8888")]
    public void Addresses_beside_the_reserved_ranges_are_public(string address) =>
        Assert.That(CountryDatabase.IsPublic(IPAddress.Parse(address)), Is.True);

    /// <summary>
    /// Measured at 96 bytes (the reader's network and record, and the code it decodes); a lookup happens on every
    /// redirect that becomes a visit, so one that starts to allocate per field or per node fails here.
    /// </summary>
    [Test]
    public void A_lookup_allocates_only_what_the_reader_decodes()
    {
        const long budgetBytes = 128;
        const int lookups = 10_000;
        var address = IPAddress.Parse("8.8.8.8");
        for (var i = 0; i < lookups; i++)
        {
            geoLite2.CountryOf(address);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < lookups; i++)
        {
            geoLite2.CountryOf(address);
        }
        var perLookup = (GC.GetAllocatedBytesForCurrentThread() - before) / lookups;
        TestContext.Out.WriteLine($"{perLookup} bytes per lookup");
        Assert.That(perLookup, Is.LessThanOrEqualTo(budgetBytes));
    }

    /// <summary>A record as MaxMind's GeoIP2 and GeoLite2 files hold it: the country's code is one field of a map among others.</summary>
    private static readonly Dictionary<string, object> Sweden = new()
    {
        ["continent"] = new Dictionary<string, object> { ["code"] = "EU", ["geoname_id"] = 6255148u },
        ["country"] = new Dictionary<string, object>
        {
            ["geoname_id"] = 2661886u,
            ["iso_code"] = "SE",
            ["names"] = new Dictionary<string, object> { ["de"] = "Schweden", ["en"] = "Sweden" },
        },
        ["registered_country"] = new Dictionary<string, object> { ["iso_code"] = "NO" },
    };

    [Test]
    public void A_geoip2_file_is_read_by_its_country_iso_code()
    {
        var path = CountryDatabases.Write("GeoLite2-Country", Sweden);
        try
        {
            using var database = CountryDatabase.Open(path);
            Assert.Multiple(() =>
            {
                Assert.That(database.CountryOf(IPAddress.Parse("8.8.8.8")), Is.EqualTo("SE"));
                Assert.That(database.CountryOf(IPAddress.Parse("200.1.1.1")), Is.Null, "128.0.0.0/1 is empty in this file");
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_file_damaged_after_the_start_check_costs_visits_their_country_never_their_redirect()
    {
        var path = CountryDatabases.Write("GeoLite2-Country", Sweden, damaged: true);
        try
        {
            var logger = new RecordingLogger();
            using var countries = new VisitorCountries(Options.Create(new ShortlinkOptions { Visits = { CountryDatabase = path } }), logger);
            string? CountryFrom(string address) =>
                countries.Of(new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(address) } });
            Assert.Multiple(() =>
            {
                Assert.That(CountryFrom("200.1.1.1"), Is.Null);
                Assert.That(CountryFrom("200.1.1.2"), Is.Null);
                Assert.That(CountryFrom("8.8.8.8"), Is.EqualTo("SE"), "the sound part of the file still answers");
                Assert.That(logger.Errors, Has.Count.EqualTo(1), "logged once, not per visit");
                Assert.That(logger.Errors, Has.None.Contains("200.1.1"), "no address is logged");
            });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void An_asn_database_is_refused_for_naming_no_country()
    {
        var path = CountryDatabases.Write("GeoLite2-ASN", new Dictionary<string, object>
        {
            ["autonomous_system_number"] = 15169u,
            ["autonomous_system_organization"] = "GOOGLE",
        });
        Assert.That(RefusalOf(path), Does.Contain("GeoLite2-ASN").And.Contain("names no country"));
    }

    [Test]
    public void A_file_whose_country_is_no_record_is_refused() =>
        Assert.That(RefusalOf(CountryDatabases.Write("Other-Country", new Dictionary<string, object> { ["country"] = "SE" })),
            Does.Contain("cannot be read as countries"));

    [Test]
    public void A_file_that_is_no_mmdb_is_refused()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "network,country_code\n8.8.8.0/24,US\n");
        Assert.That(RefusalOf(path), Does.Contain("cannot be opened as a MaxMind DB"));
    }

    /// <summary>Why the file at the path cannot serve as a country database; the file is deleted.</summary>
    private static string RefusalOf(string path)
    {
        try
        {
            return Assert.Throws<CountryDatabaseException>(() => CountryDatabase.Open(path))!.Message;
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void A_missing_file_stops_the_service_at_start_naming_the_setting()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"shortlink-{Guid.NewGuid():N}", "GeoLite2-Country.mmdb");
        using var app = new ShortlinkApp("Server=127.0.0.1;Port=1;User ID=nobody;Password=x;Database=none;Connection Timeout=1",
            new Dictionary<string, string?>
            {
                ["Shortlink:Database:MigrateOnStartup"] = "false",
                ["Shortlink:Visits:CountryDatabase"] = missing,
            });
        var failure = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.That(failure!.Message, Does.Contain("Visits:CountryDatabase").And.Contain(missing).And.Contain("does not exist"));
    }

    [TestCase("DE", "DE")]
    [TestCase("de", "DE")]
    [TestCase("gB", "GB")]
    [TestCase("XX", null)]
    [TestCase("zz", null)]
    [TestCase("T1", null)]
    [TestCase("D", null)]
    [TestCase("DEU", null)]
    [TestCase("", null)]
    [TestCase("é1", null)]
    public void Country_codes_are_two_letters_in_upper_case(string value, string? code) =>
        Assert.That(CountryCodes.Of(value), Is.EqualTo(code));

    [Test]
    public void Every_visit_from_one_country_shares_its_code() =>
        Assert.That(CountryCodes.Of(new string(['d', 'e'])), Is.SameAs(CountryCodes.Of("DE")));

    /// <summary>The errors logged, each with its exception, as text.</summary>
    private sealed class RecordingLogger : ILogger<VisitorCountries>
    {
        public List<string> Errors { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Error)
            {
                Errors.Add($"{formatter(state, exception)} {exception}");
            }
        }
    }
}
