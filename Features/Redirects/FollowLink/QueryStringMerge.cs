using System.Buffers;
using System.Text;

namespace Shortlink.Features.Redirects;

/// <summary>
/// Appends a visitor's query string to a link's target: the target's own parameters stay first and
/// untouched, the incoming ones follow in their order, and the fragment stays last.
/// </summary>
internal static class QueryStringMerge
{
    private static readonly SearchValues<char> Unreserved =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");

    public static string Merge(string target, string? incomingQuery)
    {
        var incoming = incomingQuery?.TrimStart('?');
        if (string.IsNullOrEmpty(incoming))
        {
            return target;
        }
        var fragmentStart = target.IndexOf('#', StringComparison.Ordinal);
        var beforeFragment = fragmentStart < 0 ? target : target[..fragmentStart];
        var fragment = fragmentStart < 0 ? "" : target[fragmentStart..];

        var builder = new StringBuilder(target.Length + incoming.Length + 1);
        builder.Append(beforeFragment);
        var separator = !beforeFragment.Contains('?', StringComparison.Ordinal) ? '?'
            : beforeFragment.EndsWith('?') || beforeFragment.EndsWith('&') ? (char?)null
            : '&';
        foreach (var pair in incoming.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (separator is { } s)
            {
                builder.Append(s);
            }
            separator = '&';
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                AppendEscaped(builder, pair);
                continue;
            }
            AppendEscaped(builder, pair.AsSpan(0, equals));
            builder.Append('=');
            AppendEscaped(builder, pair.AsSpan(equals + 1));
        }
        return builder.Append(fragment).ToString();
    }

    /// <summary>
    /// Passes through what is already safe exactly as it was sent: unreserved characters and well-formed
    /// %XX escapes, whatever bytes they stand for (a Latin-1 form value such as caf%E9 is not UTF-8, and
    /// decoding it would turn it into something else). A '+' becomes %20; anything else is percent-encoded
    /// as UTF-8, so nothing that could end or split the Location header gets through.
    /// </summary>
    private static void AppendEscaped(StringBuilder builder, ReadOnlySpan<char> component)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < component.Length; i++)
        {
            var c = component[i];
            if (c == '%' && i + 2 < component.Length && char.IsAsciiHexDigit(component[i + 1]) && char.IsAsciiHexDigit(component[i + 2]))
            {
                builder.Append(component.Slice(i, 3));
                i += 2;
            }
            else if (c == '+')
            {
                builder.Append("%20");
            }
            else if (Unreserved.Contains(c))
            {
                builder.Append(c);
            }
            else
            {
                var width = char.IsHighSurrogate(c) && i + 1 < component.Length && char.IsLowSurrogate(component[i + 1]) ? 2 : 1;
                var written = Encoding.UTF8.GetBytes(component.Slice(i, width), utf8);
                foreach (var b in utf8[..written])
                {
                    builder.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
                }
                i += width - 1;
            }
        }
    }

    private const string Hex = "0123456789ABCDEF";
}
