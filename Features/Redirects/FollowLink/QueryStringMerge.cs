using System.Text;

namespace Shortlink.Features.Redirects;

/// <summary>
/// Appends a visitor's query string to a link's target: the target's own parameters stay first and
/// untouched, the incoming ones follow in their order, re-encoded, and the fragment stays last.
/// </summary>
internal static class QueryStringMerge
{
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
                builder.Append(Encode(pair));
                continue;
            }
            builder.Append(Encode(pair[..equals])).Append('=').Append(Encode(pair[(equals + 1)..]));
        }
        return builder.Append(fragment).ToString();
    }

    // Decoding first means a visitor's already-encoded value is not encoded twice.
    private static string Encode(string component) =>
        Uri.EscapeDataString(Uri.UnescapeDataString(component.Replace('+', ' ')));
}
