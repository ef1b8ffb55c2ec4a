using System.Globalization;
using System.Net;

namespace Shortlink.Features.Links;

/// <summary>
/// Hosts as the rules compare them, whatever notation a URL used: lower case, without a trailing dot,
/// internationalised names in punycode, IPv4 in dotted decimal (0x7f.1, 2130706433 and 0177.0.0.1 are all
/// 127.0.0.1, as browsers read them), IPv6 compressed, and IPv4-mapped IPv6 as IPv4.
/// </summary>
internal static class LinkHosts
{
    public static string Canonical(Uri uri) => uri.HostNameType switch
    {
        UriHostNameType.IPv4 => uri.Host,
        UriHostNameType.IPv6 => CanonicalAddress(IPAddress.Parse(uri.IdnHost)),
        _ => uri.IdnHost.ToLowerInvariant().TrimEnd('.'),
    };

    /// <summary>The canonical form of a host written alone (a blocklist entry, an alias), or null when it is none.</summary>
    public static string? CanonicalOf(string host)
    {
        var trimmed = host.Trim();
        if (trimmed.Length == 0 || trimmed.Length > 253 || trimmed.Any(c => c is '/' or '?' or '#' or '@' or ' ' || char.IsControl(c)))
        {
            return null;
        }
        if (IPAddress.TryParse(trimmed.Trim('[', ']'), out var address) && trimmed.Contains(':', StringComparison.Ordinal))
        {
            return CanonicalAddress(address);
        }
        return Uri.TryCreate($"http://{trimmed}/", UriKind.Absolute, out var uri) && uri.Port == 80 && uri.PathAndQuery == "/"
            ? Canonical(uri)
            : null;
    }

    /// <summary>The host and each domain above it (a.b.example, b.example, example); an address alone.</summary>
    public static IEnumerable<string> AndParents(string canonicalHost)
    {
        yield return canonicalHost;
        if (IPAddress.TryParse(canonicalHost, out _))
        {
            yield break;
        }
        for (var dot = canonicalHost.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = canonicalHost.IndexOf('.', dot + 1))
        {
            yield return canonicalHost[(dot + 1)..];
        }
    }

    private static string CanonicalAddress(IPAddress address) =>
        (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString().ToLowerInvariant();

    /// <summary>
    /// True when a label mixes scripts in a way names do not (pаypal with a Cyrillic "а"): each label may
    /// use one script, or Latin with Han and the Japanese kana, Chinese bopomofo or Korean hangul, as the
    /// "highly restrictive" level of Unicode's UTS #39 allows. Digits and hyphens belong to every script.
    /// </summary>
    public static bool MixesScripts(Uri uri)
    {
        if (uri.HostNameType != UriHostNameType.Dns)
        {
            return false;
        }
        var mapping = new IdnMapping();
        foreach (var label in uri.IdnHost.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            string unicode;
            try
            {
                unicode = label.StartsWith("xn--", StringComparison.OrdinalIgnoreCase) ? mapping.GetUnicode(label) : label;
            }
            catch (ArgumentException)
            {
                return true;
            }
            if (!IsSingleScript(unicode))
            {
                return true;
            }
        }
        return false;
    }

    private static readonly HashSet<string>[] AllowedMixes =
    [
        ["Latin", "Han", "Hiragana", "Katakana"],
        ["Latin", "Han", "Bopomofo"],
        ["Latin", "Han", "Hangul"],
    ];

    private static bool IsSingleScript(string label)
    {
        var scripts = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < label.Length; i++)
        {
            var codePoint = char.ConvertToUtf32(label, i);
            if (char.IsSurrogatePair(label, i))
            {
                i++;
            }
            if (ScriptOf(codePoint) is { } script)
            {
                scripts.Add(script);
            }
        }
        return scripts.Count <= 1 || AllowedMixes.Any(allowed => scripts.IsSubsetOf(allowed));
    }

    private static string? ScriptOf(int c) => c switch
    {
        >= '0' and <= '9' or '-' or 0x30FC => null,
        >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= 0x00C0 and <= 0x024F or >= 0x1E00 and <= 0x1EFF or >= 0x2C60 and <= 0x2C7F
            or >= 0xA720 and <= 0xA7FF => "Latin",
        >= 0x0370 and <= 0x03FF or >= 0x1F00 and <= 0x1FFF => "Greek",
        >= 0x0400 and <= 0x052F or >= 0x2DE0 and <= 0x2DFF or >= 0xA640 and <= 0xA69F => "Cyrillic",
        >= 0x0530 and <= 0x058F => "Armenian",
        >= 0x0590 and <= 0x05FF => "Hebrew",
        >= 0x0600 and <= 0x06FF or >= 0x0750 and <= 0x077F => "Arabic",
        >= 0x0900 and <= 0x097F => "Devanagari",
        >= 0x0E00 and <= 0x0E7F => "Thai",
        >= 0x10A0 and <= 0x10FF => "Georgian",
        >= 0x1100 and <= 0x11FF or >= 0x3130 and <= 0x318F or >= 0xAC00 and <= 0xD7AF => "Hangul",
        >= 0x3040 and <= 0x309F => "Hiragana",
        >= 0x30A0 and <= 0x30FF or >= 0x31F0 and <= 0x31FF or >= 0xFF66 and <= 0xFF9F => "Katakana",
        >= 0x3100 and <= 0x312F => "Bopomofo",
        >= 0x3400 and <= 0x4DBF or >= 0x4E00 and <= 0x9FFF or >= 0xF900 and <= 0xFAFF or >= 0x20000 and <= 0x3134F => "Han",
        // Any other letter is a script of its own, by its 128-character block: unknown mixes are refused.
        _ => $"U+{c >> 7:X}",
    };
}
