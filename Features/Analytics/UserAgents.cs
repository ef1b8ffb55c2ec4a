using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Shortlink.Features.Analytics;

/// <summary>What a visit's user agent says about its visitor: browser and OS families, device type, bot or not.</summary>
internal readonly record struct UserAgentClass(string Browser, string Os, string Device, bool IsBot)
{
    public static readonly UserAgentClass Unknown = new("", "", Devices.Unknown, false);
}

internal static class Devices
{
    public const string Desktop = "desktop";
    public const string Mobile = "mobile";
    public const string Tablet = "tablet";
    public const string Bot = "bot";
    public const string Unknown = "";
}

/// <summary>
/// Classifies user agents with the data every UA-parser library uses, vendored by ops/vendor: uap-core's
/// regexes.yaml for the browser, OS and device families, and isbot's patterns for bots (link-preview fetchers
/// such as Slackbot, Twitterbot, facebookexternalhit, LinkedInBot, Discordbot, WhatsApp and TelegramBot among
/// them). The device type is read from uap-core's device family: "Spider" is a bot, "Other" (with a known OS) and "Mac" a desktop, an iPad
/// or an Android device whose agent does not say "Mobile" a tablet (Android's own convention), any other
/// device a phone. The patterns are compiled once; answers are remembered per user-agent string, up to
/// <see cref="MaxRemembered"/> of them, since a few thousand strings make up nearly all traffic.
/// </summary>
internal sealed class UserAgents
{
    public const int MaxRemembered = 20_000;
    private const int MaxLength = 1024;
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    private readonly Parser[] browsers;
    private readonly Parser[] systems;
    private readonly Parser[] devices;
    private readonly Regex bots;
    private readonly ConcurrentDictionary<string, UserAgentClass> remembered = new(StringComparer.Ordinal);

    private UserAgents(Parser[] browsers, Parser[] systems, Parser[] devices, Regex bots)
    {
        this.browsers = browsers;
        this.systems = systems;
        this.devices = devices;
        this.bots = bots;
    }

    /// <summary>The vendored data, embedded in the service, compiled once per process (it never changes while it runs).</summary>
    public static readonly Lazy<UserAgents> Embedded = new(Load);

    internal static UserAgents Load()
    {
        var assembly = typeof(UserAgents).Assembly;
        using var yaml = new StreamReader(assembly.GetManifestResourceStream("Analytics.uap-core.regexes.yaml")!);
        using var patterns = assembly.GetManifestResourceStream("Analytics.isbot.patterns.json")!;
        return From(yaml.ReadToEnd(), JsonSerializer.Deserialize<string[]>(patterns)!);
    }

    internal static UserAgents From(string regexesYaml, IEnumerable<string> botPatterns)
    {
        var document = new YamlStream();
        document.Load(new StringReader(regexesYaml));
        var root = (YamlMappingNode)document.Documents[0].RootNode;
        Parser[] Read(string section, string replacementKey) =>
        [
            .. ((YamlSequenceNode)root.Children[new YamlScalarNode(section)]).Children.Cast<YamlMappingNode>().Select(entry =>
            {
                string? Field(string key) => entry.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;
                var options = RegexOptions.CultureInvariant | (Field("regex_flag") == "i" ? RegexOptions.IgnoreCase : RegexOptions.None);
                return new Parser(new Regex(Field("regex")!, options, MatchTimeout), Field(replacementKey));
            }),
        ];
        var bots = new Regex(string.Join('|', botPatterns), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, MatchTimeout);
        return new UserAgents(Read("user_agent_parsers", "family_replacement"), Read("os_parsers", "os_replacement"),
            Read("device_parsers", "device_replacement"), bots);
    }

    public UserAgentClass Classify(string? userAgent)
    {
        if (string.IsNullOrWhiteSpace(userAgent))
        {
            return UserAgentClass.Unknown;
        }
        if (remembered.TryGetValue(userAgent, out var known))
        {
            return known;
        }
        var found = ClassifyNow(userAgent.Length > MaxLength ? userAgent[..MaxLength] : userAgent);
        if (remembered.Count >= MaxRemembered)
        {
            remembered.Clear();
        }
        remembered[userAgent] = found;
        return found;
    }

    private UserAgentClass ClassifyNow(string userAgent)
    {
        var device = Family(devices, userAgent);
        var isBot = device == "Spider" || Matches(bots, userAgent);
        var browser = Family(browsers, userAgent) ?? "Other";
        var os = Family(systems, userAgent) ?? "Other";
        var type = isBot ? Devices.Bot
            : device is null or "Other" or "Mac" ? (os == "Other" ? Devices.Unknown : Devices.Desktop)
            : device.StartsWith("iPad", StringComparison.Ordinal)
              || (os == "Android" && !userAgent.Contains("Mobile", StringComparison.Ordinal)) ? Devices.Tablet
            : Devices.Mobile;
        return new UserAgentClass(Truncate(browser), Truncate(os), type, isBot);
    }

    /// <summary>The first pattern that matches names the family: its replacement with $1 filled in, or its first group.</summary>
    private static string? Family(Parser[] parsers, string userAgent)
    {
        foreach (var parser in parsers)
        {
            Match match;
            try
            {
                match = parser.Pattern.Match(userAgent);
            }
            catch (RegexMatchTimeoutException)
            {
                continue;
            }
            if (!match.Success)
            {
                continue;
            }
            var family = parser.Replacement is { } replacement
                ? replacement.Replace("$1", match.Groups.Count > 1 ? match.Groups[1].Value : "", StringComparison.Ordinal)
                : match.Groups.Count > 1 ? match.Groups[1].Value : null;
            return string.IsNullOrWhiteSpace(family) ? null : family.Trim();
        }
        return null;
    }

    private static bool Matches(Regex pattern, string userAgent)
    {
        try
        {
            return pattern.IsMatch(userAgent);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static string Truncate(string family) => family.Length <= 64 ? family : family[..64];

    private sealed record Parser(Regex Pattern, string? Replacement);
}
