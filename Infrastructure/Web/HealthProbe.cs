namespace Shortlink.Infrastructure.Web;

/// <summary>
/// <c>dotnet Shortlink.dll health [URL]</c>: asks a running instance for /health/ready and exits 0 when it
/// is ready, 1 otherwise. Container health checks use it, since the runtime image has neither curl nor wget.
/// </summary>
internal static partial class HealthProbe
{
    public static async Task<int> RunAsync(string? baseUrl)
    {
        var target = new Uri(new Uri(baseUrl ?? LocalUrl(
            Environment.GetEnvironmentVariable("ASPNETCORE_URLS"), Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS"))), "/health/ready");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(target);
            await Console.Out.WriteLineAsync($"{target}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"{target}: {ex.Message}");
            return 1;
        }
    }

    /// <summary>Where this machine reaches the first address Kestrel listens on (a wildcard host becomes 127.0.0.1).</summary>
    internal static string LocalUrl(string? urls, string? httpPorts)
    {
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
        {
            var port = httpPorts?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
            return $"http://127.0.0.1:{port ?? "5000"}";
        }
        var url = ListenUrl().Match(first.TrimEnd('/'));
        return url.Groups["host"].Value is "+" or "*" or "0.0.0.0" or "[::]" or "localhost"
            ? $"{url.Groups["scheme"].Value}127.0.0.1{url.Groups["rest"].Value}"
            : first.TrimEnd('/');
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?<scheme>[a-z]+://)(?<host>\[[^\]]*\]|[^:/]+)(?<rest>.*)$")]
    private static partial System.Text.RegularExpressions.Regex ListenUrl();
}
