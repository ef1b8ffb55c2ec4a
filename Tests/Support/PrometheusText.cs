using System.Globalization;

namespace Shortlink.Tests.Support;

/// <summary>Reads /metrics as Prometheus writes it.</summary>
internal static class PrometheusText
{
    /// <summary>The value of the one sample of the metric that carries every given label (as name="value").</summary>
    public static double Sample(string metrics, string name, params string[] labels) =>
        double.Parse(metrics.Split('\n').Single(line => line.StartsWith(name + "{", StringComparison.Ordinal)
                && labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            .Split(' ')[^1], CultureInfo.InvariantCulture);
}
