using System.Globalization;
using System.Text.RegularExpressions;

namespace Shortlink.Tests.Support;

/// <summary>Reads /metrics as Prometheus does.</summary>
internal static partial class PrometheusText
{
    /// <summary>The value of the one sample of the metric that carries every given label (as name="value").</summary>
    public static double Sample(string metrics, string name, params string[] labels) =>
        Samples(metrics, name, labels).Single();

    /// <summary>A service's samples of a family that carry every given label, added up (0 while there is none).</summary>
    public static async Task<double> SumAsync(HttpClient service, string name, params string[] labels) =>
        Samples(await service.GetStringAsync("/metrics"), name, labels).Sum();

    private static IEnumerable<double> Samples(string metrics, string name, string[] labels) =>
        SampleLine().Matches(metrics)
            .Where(sample => sample.Groups["name"].Value == name
                && labels.All(label => sample.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            .Select(sample => double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();
}
