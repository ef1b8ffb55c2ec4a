using System.Net;
using System.Net.Sockets;
using MaxMind.Db;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Analytics;

/// <summary>
/// A visitor's country: the one a trusted edge names in Visits:CountryHeader (only on requests that came through
/// Network:TrustedProxies), else the one Visits:CountryDatabase gives for the client's address, else unknown. The
/// address is looked up here, on the redirect, and goes no further.
/// </summary>
internal sealed class VisitorCountries(IOptions<ShortlinkOptions> options, ILogger<VisitorCountries> logger) : IDisposable
{
    private readonly string header = options.Value.Visits.CountryHeader;
    private readonly CountryDatabase? database =
        options.Value.Visits.CountryDatabase is { Length: > 0 } path ? CountryDatabase.Open(path) : null;
    private int failureLogged;

    public string? Of(HttpContext context)
    {
        if (header.Length > 0 && ClientNetwork.CameThroughTrustedProxy(context)
            && CountryCodes.Of(context.Request.Headers[header].ToString()) is { } named)
        {
            return named;
        }
        try
        {
            return database?.CountryOf(context.Connection.RemoteIpAddress);
        }
        // A file damaged after the start check (written over in place, say) must cost visits their country, never
        // their redirect; logged once, since every visit that reaches the damage would fail the same way.
        catch (Exception e) when (e is InvalidDatabaseException or DeserializationException)
        {
            if (Interlocked.Exchange(ref failureLogged, 1) == 0)
            {
                logger.LogError(e, "Visits:CountryDatabase cannot be read for some addresses; their visits are recorded without a country " +
                    "(logged once; replace the file and restart the service)");
            }
            return null;
        }
    }

    public void Dispose() => database?.Dispose();
}

/// <summary>
/// A country .mmdb file, memory-mapped once; MaxMind's reader is thread-safe and a lookup walks the file's tree in
/// place (about 0.2 µs and 96 bytes, measured on the GeoLite2 file). It reads the two schemas in use: MaxMind's
/// GeoIP2/GeoLite2 and DB-IP's (<c>country.iso_code</c>), and ip-location-db's builds of them (<c>country_code</c>),
/// whose database type MaxMind.GeoIP2's reader refuses, hence MaxMind.Db itself.
/// </summary>
internal sealed class CountryDatabase : IDisposable
{
    /// <summary>Records read at start to see that the file names countries at all (an ASN database names none).</summary>
    private const int RecordsChecked = 1_000;

    private readonly Reader reader;

    private CountryDatabase(Reader reader) => this.reader = reader;

    /// <summary>Opens the file and checks that its records name countries; an operator's mistake throws with what is wrong.</summary>
    public static CountryDatabase Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new CountryDatabaseException($"'{path}' does not exist.");
        }
        Reader reader;
        try
        {
            reader = new Reader(path, FileAccessMode.MemoryMapped);
        }
        catch (Exception e) when (e is InvalidDatabaseException or IOException or UnauthorizedAccessException)
        {
            throw new CountryDatabaseException($"'{path}' cannot be opened as a MaxMind DB (.mmdb) file: {e.Message}", e);
        }
        try
        {
            if (!reader.FindAll<CountryRecord>(cacheSize: 1).Take(RecordsChecked).Any(node => node.Data.Code is not null))
            {
                throw new CountryDatabaseException($"'{path}' ({reader.Metadata.DatabaseType}) names no country in its first " +
                    $"{RecordsChecked} networks: it needs country.iso_code (GeoIP2, GeoLite2, DB-IP) or country_code (ip-location-db).");
            }
            return new CountryDatabase(reader);
        }
        catch (Exception e) when (e is InvalidDatabaseException or DeserializationException)
        {
            reader.Dispose();
            throw new CountryDatabaseException($"'{path}' ({reader.Metadata.DatabaseType}) holds records that cannot be read " +
                $"as countries: {e.Message}", e);
        }
        catch (CountryDatabaseException)
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>The country of a public address, as an upper-case ISO 3166 code; null for any other address or one the file does not know.</summary>
    public string? CountryOf(IPAddress? address)
    {
        if (address is null)
        {
            return null;
        }
        // Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d, which the files do not map to their IPv4 networks.
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return IsPublic(address) ? CountryCodes.Of(reader.Find<CountryRecord>(address)?.Code) : null;
    }

    /// <summary>
    /// False for addresses that are nobody's location: loopback, private, carrier-grade NAT, link-local, unique-local,
    /// multicast and reserved. Some files give these a placeholder country; they are never looked up.
    /// </summary>
    internal static bool IsPublic(IPAddress address)
    {
        if (IPAddress.IsLoopback(address))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast
                     || address.Equals(IPAddress.IPv6Any));
        }
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return bytes[0] switch
        {
            0 or 10 or 127 or >= 224 => false,
            100 => bytes[1] is < 64 or >= 128,
            169 => bytes[1] != 254,
            172 => bytes[1] is < 16 or >= 32,
            192 => bytes[1] != 168,
            _ => true,
        };
    }

    public void Dispose() => reader.Dispose();

    /// <summary>The fields of both schemas; the file's other fields (names, continent, ...) are skipped unread.</summary>
    internal sealed class CountryRecord
    {
        [MapKey("country_code")]
        public string? CountryCode { get; init; }

        [MapKey("country")]
        public CountryField? Country { get; init; }

        public string? Code => CountryCode ?? Country?.IsoCode;
    }

    internal sealed class CountryField
    {
        [MapKey("iso_code")]
        public string? IsoCode { get; init; }
    }
}

internal sealed class CountryDatabaseException : Exception
{
    public CountryDatabaseException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>Two-letter country codes as visits store them: upper case, one shared string per code.</summary>
internal static class CountryCodes
{
    // XX (Cloudflare's) and ZZ (DB-IP's) say "unknown"; stored as such, they would count as a country.
    private static readonly string?[] Codes = [.. Enumerable.Range(0, 26 * 26).Select(i => $"{(char)('A' + i / 26)}{(char)('A' + i % 26)}")
        .Select(code => code is "XX" or "ZZ" ? null : code)];

    public static string? Of(ReadOnlySpan<char> value) =>
        value.Length == 2 && char.IsAsciiLetter(value[0]) && char.IsAsciiLetter(value[1])
            ? Codes[(char.ToUpperInvariant(value[0]) - 'A') * 26 + char.ToUpperInvariant(value[1]) - 'A']
            : null;
}

/// <summary>Checks Visits:CountryDatabase at start, so that a wrong path stops the service with a message naming the key.</summary>
internal sealed class CountryDatabaseSetting : IValidateOptions<ShortlinkOptions>
{
    public ValidateOptionsResult Validate(string? name, ShortlinkOptions options)
    {
        if (options.Visits.CountryDatabase.Length == 0)
        {
            return ValidateOptionsResult.Success;
        }
        try
        {
            CountryDatabase.Open(options.Visits.CountryDatabase).Dispose();
            return ValidateOptionsResult.Success;
        }
        catch (CountryDatabaseException e)
        {
            return ValidateOptionsResult.Fail($"Visits:CountryDatabase: {e.Message}");
        }
    }
}
