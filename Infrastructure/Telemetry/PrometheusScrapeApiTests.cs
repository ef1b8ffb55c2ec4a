using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// The monitoring as it runs: Debian's Prometheus scrapes an API process and a worker process, both started from the
/// built service, evaluates the rules of ops/prometheus/rules (their alerts' <c>for:</c> cut to seconds) and answers
/// through its HTTP API what the dashboards and alerts read.
/// </summary>
public sealed partial class PrometheusScrapeApiTests : ApiTestBase
{
    /// <summary>The longest any one step may take: a process start, a scrape to show up, an alert to fire.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The alerts' <c>for:</c> in the copies Prometheus loads: minutes in production, too long for a test.</summary>
    private const string AlertFor = "2s";

    protected override bool UsesRedis => true;

    protected override bool UsesRabbitMq => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
    };

    [Test]
    public async Task Prometheus_scrapes_both_roles_evaluates_the_rules_and_fires_ShortlinkInstanceDown_for_a_stopped_worker()
    {
        // Below the kernel's ephemeral range, where none of the suite's outgoing connections takes them meanwhile.
        var apiPort = Ports.FreeConsecutive(3);
        var workerPort = apiPort + 1;
        var prometheusPort = apiPort + 2;
        var directory = Directory.CreateTempSubdirectory("shortlink-prometheus-");
        try
        {
            await using var api = StartService("Api", apiPort);
            await using var worker = StartService("Worker", workerPort);
            using var apiHttp = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"),
            };
            using var workerHttp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{workerPort}") };
            await Task.WhenAll(ServiceProcess.WaitUntilReadyAsync(apiHttp, Patience), ServiceProcess.WaitUntilReadyAsync(workerHttp, Patience));

            await WriteConfigurationAsync(directory.FullName, apiPort, workerPort);
            await using var prometheus = PrometheusProcess.Start(directory.FullName, prometheusPort);
            await prometheus.WaitUntilReadyAsync();

            await Eventually.TrueAsync(async () =>
            {
                var targets = (await prometheus.DataAsync("/api/v1/targets")).GetProperty("activeTargets").EnumerateArray().ToList();
                return targets.Count == 2 && targets.All(target => target.GetProperty("health").GetString() == "up");
            }, Patience, prometheus.Circumstances);
            var roles = (await prometheus.DataAsync("/api/v1/targets")).GetProperty("activeTargets").EnumerateArray()
                .Select(target => target.GetProperty("labels").GetProperty("role").GetString());
            Assert.That(roles, Is.EquivalentTo(new[] { "api", "worker" }));

            // The admin key the fixture's own service created in this database.
            TestKeys.Authorize(apiHttp, TestKeys.Admin);
            using var created = await apiHttp.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/scraped" });
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
            var code = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
            using var visitor = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
            {
                BaseAddress = apiHttp.BaseAddress,
            };
            // Redirects until a scrape has seen the counter grow: a rate needs an increase between two scrapes, so
            // redirects made before the series' first scrape alone would leave it at 0.
            await Eventually.TrueAsync(async () =>
            {
                using var redirect = await visitor.GetAsync($"/{code}");
                Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
                return await prometheus.ValueAsync("""sum(rate(shortlink_redirects_total{job="shortlink",outcome="redirected"}[10s]))""") > 0;
            }, Patience, prometheus.Circumstances);
            await Eventually.TrueAsync(async () => await prometheus.ValueAsync("""job:http_server_requests:rate5m{job="shortlink"}""") > 0,
                Patience, prometheus.Circumstances);

            await worker.KillAsync();
            await Eventually.TrueAsync(async () => (await InstanceDownAlertsAsync(prometheus)).Contains(("worker", "firing")),
                Patience, prometheus.Circumstances);
            Assert.That((await InstanceDownAlertsAsync(prometheus)).Select(alert => alert.Role), Has.None.EqualTo("api"),
                "the API instance still answers its scrapes");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The built service as its own process in the given role, on this fixture's database, Redis and visit queue.</summary>
    private ServiceProcess StartService(string role, int port) => ServiceProcess.Start(new Dictionary<string, string>
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["Shortlink__Role"] = role,
        ["Shortlink__Database__ConnectionString"] = ConnectionString,
        ["Shortlink__PublicBaseUrl"] = ShortlinkApp.PublicBaseUrl,
        ["Shortlink__Redis__Configuration"] = RedisConfiguration!,
        ["Shortlink__Redis__Prefix"] = ServiceSettings["Shortlink:Redis:Prefix"]!,
        ["Shortlink__RabbitMq__ConnectionString"] = RabbitMqConnectionString!,
        ["Shortlink__RabbitMq__VisitsQueue"] = ServiceSettings["Shortlink:RabbitMq:VisitsQueue"]!,
        ["Shortlink__Visits__Enabled"] = "true",
    });

    /// <summary>
    /// prometheus.yml with job shortlink as ops/prometheus/prometheus.yml has it, on the two processes and at the
    /// shortest intervals, and a copy of every rule file whose alerts wait <see cref="AlertFor"/> instead of minutes.
    /// </summary>
    private static async Task WriteConfigurationAsync(string directory, int apiPort, int workerPort)
    {
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - rules/*.yml
            scrape_configs:
              - job_name: shortlink
                metrics_path: /metrics
                static_configs:
                  - targets: ['127.0.0.1:{apiPort}']
                    labels:
                      role: api
                  - targets: ['127.0.0.1:{workerPort}']
                    labels:
                      role: worker
            """);
        var rules = Directory.CreateDirectory(Path.Combine(directory, "rules"));
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Root, "ops", "prometheus", "rules"), "*.yml"))
        {
            var text = AlertWait().Replace(await File.ReadAllTextAsync(file), $"${{indent}}for: {AlertFor}");
            await File.WriteAllTextAsync(Path.Combine(rules.FullName, Path.GetFileName(file)), text);
        }
    }

    /// <summary>The ShortlinkInstanceDown alerts Prometheus holds, by role and state (pending, firing).</summary>
    private static async Task<List<(string? Role, string? State)>> InstanceDownAlertsAsync(PrometheusProcess prometheus) =>
        (await prometheus.DataAsync("/api/v1/alerts")).GetProperty("alerts").EnumerateArray()
            .Where(alert => alert.GetProperty("labels").GetProperty("alertname").GetString() == "ShortlinkInstanceDown")
            .Select(alert => (alert.GetProperty("labels").GetProperty("role").GetString(), alert.GetProperty("state").GetString()))
            .ToList();

    [GeneratedRegex(@"^(?<indent>[ ]+)for: .+$", RegexOptions.Multiline)]
    private static partial Regex AlertWait();

    /// <summary>Debian's Prometheus (ops/test installs it through ops/check-monitoring) on a directory and port of the test's own.</summary>
    private sealed class PrometheusProcess : IAsyncDisposable
    {
        private readonly Process process;
        private readonly HttpClient http;
        private readonly ConcurrentQueue<string> output = new();
        private string lastAnswer = "";

        private PrometheusProcess(Process process, int port)
        {
            this.process = process;
            http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            // Read as it comes: Prometheus logs plenty, and a full pipe would stop it.
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public static PrometheusProcess Start(string directory, int port)
        {
            var info = new ProcessStartInfo(OnPath("prometheus"))
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add($"--config.file={Path.Combine(directory, "prometheus.yml")}");
            info.ArgumentList.Add($"--storage.tsdb.path={Path.Combine(directory, "data")}");
            info.ArgumentList.Add($"--web.listen-address=127.0.0.1:{port}");
            return new PrometheusProcess(Process.Start(info)!, port);
        }

        public async Task WaitUntilReadyAsync() => await Eventually.TrueAsync(async () =>
        {
            Assert.That(process.HasExited, Is.False, Circumstances);
            try
            {
                using var response = await http.GetAsync("/-/ready");
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, Patience, Circumstances);

        /// <summary>The <c>data</c> of an HTTP API answer, which must be a success.</summary>
        public async Task<JsonElement> DataAsync(string pathAndQuery)
        {
            var body = await http.GetStringAsync(pathAndQuery);
            lastAnswer = $"GET {pathAndQuery}: {body}";
            using var answer = JsonDocument.Parse(body);
            Assert.That(answer.RootElement.GetProperty("status").GetString(), Is.EqualTo("success"), lastAnswer);
            return answer.RootElement.GetProperty("data").Clone();
        }

        /// <summary>An instant query's one value; NaN while it has no series, or more than one.</summary>
        public async Task<double> ValueAsync(string query)
        {
            var result = (await DataAsync($"/api/v1/query?query={Uri.EscapeDataString(query)}")).GetProperty("result");
            return result.GetArrayLength() == 1
                ? double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)
                : double.NaN;
        }

        /// <summary>What a failure message should also tell: Prometheus's last answer and the end of its log.</summary>
        public string Circumstances() =>
            $"Prometheus's last answer: {lastAnswer}\nIts log ends:\n{string.Join('\n', output.TakeLast(30))}";

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            process.Dispose();
        }

        private static string OnPath(string program) =>
            (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
                .Select(directory => Path.Combine(directory, program))
                .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{program} is not on PATH: ops/test installs Debian's prometheus through ops/check-monitoring");
    }
}
