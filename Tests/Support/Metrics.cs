using System.Globalization;
using System.Text.RegularExpressions;

namespace Shortlink.Tests.Support;

/// <summary>Reads a service's /metrics as Prometheus does.</summary>
internal static partial class Metrics
{
    /// <summary>The sum of a family's samples whose labels include every one given (0 when there is none yet).</summary>
    public static async Task<double> ValueAsync(HttpClient service, string name, params (string Label, string Value)[] labels)
    {
        var scrape = await service.GetStringAsync("/metrics");
        var total = 0.0;
        foreach (Match sample in Sample().Matches(scrape))
        {
            if (sample.Groups["name"].Value == name
                && labels.All(label => sample.Groups["labels"].Value.Contains($"{label.Label}=\"{label.Value}\"", StringComparison.Ordinal)))
            {
                total += double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return total;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
