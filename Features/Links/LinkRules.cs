using System.Buffers;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using FluentValidation;

namespace Shortlink.Features.Links;

/// <summary>The rules every way of writing a link shares: codes, slugs, target URLs, tags.</summary>
internal static partial class LinkRules
{
    public const int GeneratedCodeLength = 7;
    public const int MinSlugLength = 3;
    public const int MaxSlugLength = 64;
    public const int MaxUrlLength = 2048;
    public const int MaxTitleLength = 512;
    public const int MaxTags = 20;
    public const int MaxTagLength = 50;
    public static readonly int[] RedirectTypes = [301, 302, 307, 308];

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    // Paths the service or a browser asks for on the short domain, compared without case so that
    // "/API" cannot pass for "/api" in a reader's eye. File names such as favicon.ico, robots.txt or
    // sitemap.xml need no entry: a slug cannot contain a dot.
    private static readonly FrozenSet<string> Reserved = new[]
    {
        "api", "swagger", "openapi", "metrics", "health", "static", "assets", "css", "js", "img", "images",
        "fonts", "_framework", "_content", "favicon", "apple-touch-icon", "manifest", "well-known", "index",
        "admin", "login", "logout", "docs", "status", WebPage.WebPageEndpoints.AssetsSegment,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static string NewCode()
    {
        string code;
        do
        {
            code = RandomNumberGenerator.GetString(Base62, GeneratedCodeLength);
        }
        while (IsReserved(code));
        return code;
    }

    public static bool IsReserved(string slug) => Reserved.Contains(slug);

    /// <summary>Anything a code can be: a generated code or a custom slug. Cheap gate before any lookup.</summary>
    public static bool IsPossibleCode(string value) =>
        value.Length is >= 1 and <= MaxSlugLength && CodeCharacters().IsMatch(value);

    public static bool IsWellFormedSlug(string slug) =>
        slug.Length is >= MinSlugLength and <= MaxSlugLength && CodeCharacters().IsMatch(slug);

    /// <summary>
    /// Accepts absolute http(s) URLs and returns them in the ASCII form a Location header can carry:
    /// an internationalised host becomes punycode and other non-ASCII or unsafe characters are
    /// percent-encoded as UTF-8. Everything else is kept exactly as given.
    /// </summary>
    public static bool TryNormalizeUrl(string? input, out string normalized, out string error)
    {
        normalized = "";
        var candidate = input?.Trim() ?? "";
        if (candidate.Length == 0)
        {
            error = "The URL is required.";
            return false;
        }
        if (candidate.Length > MaxUrlLength)
        {
            error = $"The URL must be at most {MaxUrlLength} characters.";
            return false;
        }
        if (candidate.Any(char.IsControl))
        {
            error = "The URL must not contain control characters.";
            return false;
        }
        if (!HttpPrefix().IsMatch(candidate))
        {
            error = "The URL must be absolute and start with http:// or https://.";
            return false;
        }
        if (!Uri.TryCreate(candidate, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = "The URL is not a valid absolute URL with a host.";
            return false;
        }
        // https://good.example@evil.example/ reads as good.example and leads to evil.example.
        if (uri.UserInfo.Length > 0)
        {
            error = "The URL must not carry a user name or password (as in https://user@host/): it disguises where a link leads.";
            return false;
        }
        if (LinkHosts.MixesScripts(uri))
        {
            error = "The URL's host mixes scripts within a name (such as Latin and Cyrillic letters), a way to imitate another site.";
            return false;
        }
        normalized = ToAscii(candidate, uri);
        if (normalized.Length > MaxUrlLength)
        {
            error = $"The URL must be at most {MaxUrlLength} characters once encoded.";
            return false;
        }
        error = "";
        return true;
    }

    private static string ToAscii(string url, Uri uri)
    {
        if (Ascii.IsValid(url) && !NeedsEscapingAt(url).Any())
        {
            return url;
        }
        var hostStart = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#'], hostStart);
        if (authorityEnd < 0)
        {
            authorityEnd = url.Length;
        }
        var authority = url[hostStart..authorityEnd];
        var userInfoEnd = authority.LastIndexOf('@') + 1;
        var hostAndPort = authority[userInfoEnd..];
        var portSeparator = hostAndPort.StartsWith('[') ? hostAndPort.IndexOf("]:", StringComparison.Ordinal) + 1 : hostAndPort.LastIndexOf(':');
        var host = portSeparator > 0 ? hostAndPort[..portSeparator] : hostAndPort;
        var port = portSeparator > 0 ? hostAndPort[portSeparator..] : "";
        var builder = new StringBuilder(url.Length * 2);
        builder.Append(url, 0, hostStart);
        builder.Append(PercentEncodeUnsafe(authority[..userInfoEnd]));
        builder.Append(Ascii.IsValid(host) ? host : uri.IdnHost);
        builder.Append(port);
        builder.Append(PercentEncodeUnsafe(url[authorityEnd..]));
        return builder.ToString();
    }

    /// <summary>
    /// Percent-encodes (as UTF-8) what a URL cannot carry as it is: non-ASCII, spaces, quotes, &lt;&gt; and
    /// the like, and a '%' that starts no escape (it becomes %25), so that every Location is a valid URI.
    /// </summary>
    public static string PercentEncodeUnsafe(string part)
    {
        var builder = new StringBuilder(part.Length);
        Span<byte> utf8 = stackalloc byte[4];
        var escapeAt = NeedsEscapingAt(part).ToHashSet();
        for (var i = 0; i < part.Length; i++)
        {
            var c = part[i];
            if (!escapeAt.Contains(i))
            {
                builder.Append(c);
                continue;
            }
            var width = char.IsHighSurrogate(c) && i + 1 < part.Length ? 2 : 1;
            var written = Encoding.UTF8.GetBytes(part.AsSpan(i, width), utf8);
            foreach (var b in utf8[..written])
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            i += width - 1;
        }
        return builder.ToString();
    }

    private static IEnumerable<int> NeedsEscapingAt(string part)
    {
        for (var i = 0; i < part.Length; i++)
        {
            var c = part[i];
            if (c > '~' || UnsafeAscii.Contains(c)
                || (c == '%' && !(i + 2 < part.Length && char.IsAsciiHexDigit(part[i + 1]) && char.IsAsciiHexDigit(part[i + 2]))))
            {
                yield return i;
            }
        }
    }

    private static readonly SearchValues<char> UnsafeAscii = SearchValues.Create(" \"<>\\^`{|}");

    public static bool IsValidTag(string? tag) =>
        !string.IsNullOrEmpty(tag)
        && tag.Length <= MaxTagLength
        && tag.Trim().Length == tag.Length
        && !tag.Any(char.IsControl);

    public static IRuleBuilderOptions<T, string?> ValidTargetUrl<T>(this IRuleBuilder<T, string?> rule) =>
        rule
            .Must(url => TryNormalizeUrl(url, out _, out _))
            .WithMessage((_, url) => TryNormalizeUrl(url, out var _, out var error) ? "" : error);

    public static IRuleBuilderOptions<T, IReadOnlyList<string>?> ValidTags<T>(this IRuleBuilder<T, IReadOnlyList<string>?> rule) =>
        rule
            .Must(tags => tags is null || tags.Count <= MaxTags)
            .WithMessage($"At most {MaxTags} tags are allowed.")
            .Must(tags => tags is null || tags.All(IsValidTag))
            .WithMessage($"Each tag must be 1 to {MaxTagLength} characters, without control characters or surrounding spaces.");

    public static IRuleBuilderOptions<T, string?> ValidTitle<T>(this IRuleBuilder<T, string?> rule) =>
        rule
            .Must(title => title is null || title.Length <= MaxTitleLength)
            .WithMessage($"The title must be at most {MaxTitleLength} characters.")
            .Must(title => title is null || !title.Any(c => char.IsControl(c) && c is not '\t'))
            .WithMessage("The title must not contain control characters.");

    public static IRuleBuilderOptions<T, int?> ValidRedirectType<T>(this IRuleBuilder<T, int?> rule) =>
        rule
            .Must(type => type is null || RedirectTypes.Contains(type.Value))
            .WithMessage("The redirect type must be one of 301, 302, 307, 308.");

    public static IRuleBuilderOptions<T, int?> ValidMaxVisits<T>(this IRuleBuilder<T, int?> rule) =>
        rule
            .Must(max => max is null or >= 1)
            .WithMessage("maxVisits must be at least 1.");

    public static IReadOnlyList<string> DistinctTags(IReadOnlyList<string>? tags) =>
        tags is null ? [] : tags.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+\z")]
    private static partial Regex CodeCharacters();

    [GeneratedRegex("^https?://", RegexOptions.IgnoreCase)]
    private static partial Regex HttpPrefix();
}
