using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Shortlink.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// /metrics after real traffic, read by Prometheus's own checker: every family operators' rules and dashboards rely
/// on is there, and every PromQL expression of the rules and dashboards parses and names only what is.
/// </summary>
public sealed partial class MetricsApiTests : ApiTestBase
{
    /// <summary>The families README.md's Observability section lists, by what they answer.</summary>
    private static readonly string[] Families =
    [
        // HTTP, runtime and process
        "http_server_request_duration_seconds", "http_server_active_requests", "kestrel_active_connections",
        "dotnet_process_cpu_time_seconds_total", "dotnet_process_cpus", "dotnet_process_memory_working_set_bytes",
        "dotnet_gc_collections_total", "dotnet_gc_pause_time_seconds_total", "dotnet_thread_pool_queue_length_total",
        "dotnet_thread_pool_thread_count_total", "dotnet_exceptions_total", "process_cpu_seconds_total", "process_working_set_bytes",
        "process_open_handles", "process_start_time_seconds", "shortlink_process_memory_limit_bytes", "shortlink_build_info",
        // Database
        "db_client_connections_usage", "db_client_connections_max", "db_client_connections_pending_requests",
        "db_client_connections_use_time_seconds", "db_client_connections_wait_time_seconds", "shortlink_database_replica_lag_seconds",
        "shortlink_database_replica_in_rotation", "shortlink_database_replica_fallbacks_total", "shortlink_database_bucket_map_version",
        "shortlink_database_shard_buckets",
        // Cache
        "fusioncache_memory_hit_total", "fusioncache_memory_miss_total", "fusioncache_distributed_hit_total",
        "fusioncache_distributed_miss_total", "shortlink_cache_negative_hits_total", "shortlink_redis_connected",
        "shortlink_redis_connection_failures_total", "shortlink_cache_redis_circuit_open",
        // Visit pipeline
        "shortlink_visits_buffered", "shortlink_visits_published_total", "shortlink_visits_confirmed_total", "shortlink_visits_consumed_total",
        "shortlink_visits_recorded_total", "shortlink_visits_dropped_total", "shortlink_visits_dead_lettered_total", "shortlink_visits_lag_seconds",
        // Business
        "shortlink_links_created_total", "shortlink_redirects_total", "shortlink_rate_limit_rejections_total",
        "shortlink_blocked_domain_refusals_total", "shortlink_authentication_failures_total",
    ];

    /// <summary>
    /// Names the rules and dashboards may use that this service does not export: Prometheus's own, RabbitMQ's plugin's
    /// per-queue depth (ops/prometheus/prometheus.yml scrapes /metrics/detailed), and MySqlConnector's pool timeouts,
    /// a counter whose series appears with the first timeout.
    /// </summary>
    private static readonly HashSet<string> Elsewhere =
    [
        "up", "ALERTS", "ALERTS_FOR_STATE", "rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_messages_unacked",
        "rabbitmq_detailed_queue_messages", "db_client_connections_timeouts_total",
    ];

    private static string? scrape;

    protected override bool UsesRedis => true;

    protected override bool UsesRabbitMq => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
        ["Shortlink:Security:BlockedDomains:0"] = "blocked.example",
        ["Shortlink:RateLimits:RedirectsPerClientPerMinute"] = "60",
    };

    /// <summary>
    /// Traffic of every kind, on this fixture's instance and on a second one that reads shard 0's database as its replica
    /// (lag 0, in rotation) and shares Redis: the replica families, and a hit in Redis for a link the first cached.
    /// </summary>
    private async Task<string> ScrapeAfterTrafficAsync()
    {
        if (scrape is not null)
        {
            return scrape;
        }
        var code = (await CreateLinkAsync(new { url = "https://example.com/metered" })).GetProperty("code").GetString()!;
        using var visitor = NewClient(key: null);
        (await visitor.GetAsync($"/{code}")).Dispose();
        (await visitor.GetAsync($"/{code}")).Dispose();
        (await visitor.GetAsync("/no-such-code")).Dispose();
        (await visitor.GetAsync("/no-such-code")).Dispose();
        using (var blocked = await PostJsonAsync("/api/v1/links", """{"url":"https://blocked.example/x"}"""))
        {
            Assert.That(blocked.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity).Or.EqualTo(HttpStatusCode.BadRequest));
        }
        using (var stranger = NewClient("sl_live_" + new string('x', 43)))
        {
            (await stranger.GetAsync("/api/v1/links")).Dispose();
        }
        await Eventually.TrueAsync(async () =>
        {
            using var response = await visitor.GetAsync("/no-such-code");
            return response.StatusCode == HttpStatusCode.TooManyRequests;
        }, TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(Http, "shortlink_visits_recorded_total") >= 2,
            TimeSpan.FromSeconds(30));

        await using var replicated = new ShortlinkApp(ConnectionString, new Dictionary<string, string?>(ServiceSettings)
        {
            ["Shortlink:Database:Replicas:0"] = ConnectionString,
            ["Shortlink:Role"] = "Api",
        });
        using var second = replicated.CreateClient(new() { AllowAutoRedirect = false });
        await Eventually.TrueAsync(async () =>
            await PrometheusText.SumAsync(second, "shortlink_database_replica_in_rotation", "shard=\"0\"") == 1);
        (await second.GetAsync($"/{code}")).Dispose();
        TestKeys.Authorize(second, TestKeys.Admin);
        (await second.GetAsync("/api/v1/links?limit=1")).Dispose();
        scrape = await Http.GetStringAsync("/metrics") + "\n" + await second.GetStringAsync("/metrics");
        return scrape;
    }

    [Test]
    public async Task Metrics_after_traffic_pass_promtool_and_carry_every_family()
    {
        var families = FamiliesIn(await ScrapeAfterTrafficAsync());
        var metrics = await Http.GetStringAsync("/metrics");
        Assert.Multiple(() =>
        {
            Assert.That(Families.Where(family => !families.Contains(family)), Is.Empty, "families missing from /metrics");
            var (exit, output) = Promtool(["check", "metrics"], metrics);
            Assert.That(exit, Is.Zero, $"promtool check metrics:\n{output}");
        });
    }

    [Test]
    public async Task Metrics_carry_no_code_url_key_or_address_in_their_labels()
    {
        var metrics = await ScrapeAfterTrafficAsync();
        // The visitor's address would be a client or peer address label (Kestrel's server_address is its own listener).
        Assert.That(metrics, Does.Not.Contain("metered").And.Not.Contain("no-such-code").And.Not.Contain("client_address")
            .And.Not.Contain("peer_address").And.Not.Contain("sl_live_").And.Not.Contain("blocked.example").And.Not.Contain("Password"));
    }

    [Test]
    public async Task Every_rule_and_dashboard_expression_parses_and_names_only_exported_metrics()
    {
        var families = FamiliesIn(await ScrapeAfterTrafficAsync());
        var recorded = new HashSet<string>();
        var expressions = new List<(string Where, string Expression)>();
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Root, "ops", "prometheus", "rules"), "*.yml"))
        {
            var yaml = new YamlStream();
            yaml.Load(new StringReader(await File.ReadAllTextAsync(file)));
            foreach (YamlMappingNode group in (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["groups"])
            {
                foreach (YamlMappingNode rule in (YamlSequenceNode)group["rules"])
                {
                    if (rule.Children.TryGetValue("record", out var record))
                    {
                        recorded.Add(record.ToString());
                    }
                    expressions.Add(($"{Path.GetFileName(file)}: {(rule.Children.TryGetValue("alert", out var alert) ? alert : record)}", rule["expr"].ToString()));
                }
            }
        }
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Root, "ops", "grafana", "dashboards"), "*.json"))
        {
            using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            foreach (var (title, expression) in DashboardExpressions(dashboard.RootElement))
            {
                expressions.Add(($"{Path.GetFileName(file)}: {title}", Grafana(expression)));
            }
        }
        Assert.That(expressions, Has.Count.GreaterThan(20), "the rules and dashboards were found");

        // promtool parses each expression as the expression of a recording rule.
        var check = new System.Text.StringBuilder("groups:\n  - name: expressions\n    rules:\n");
        foreach (var (index, (_, expression)) in expressions.Index())
        {
            check.Append($"      - record: expression_{index}\n        expr: {JsonSerializer.Serialize(expression)}\n");
        }
        var checkFile = Path.Combine(Path.GetTempPath(), $"shortlink-expressions-{Guid.NewGuid():N}.yml");
        await File.WriteAllTextAsync(checkFile, check.ToString());
        try
        {
            var (exit, output) = Promtool(["check", "rules", checkFile], input: null);
            Assert.That(exit, Is.Zero, $"promtool check rules on every expression:\n{output}");
        }
        finally
        {
            File.Delete(checkFile);
        }

        var unknown = expressions.SelectMany(entry => MetricNames(entry.Expression)
                .Where(name => !families.Contains(name) && !recorded.Contains(name) && !Elsewhere.Contains(name))
                .Select(name => $"{entry.Where}: {name}"))
            .Distinct().ToList();
        Assert.That(unknown, Is.Empty, "names no /metrics scrape after traffic carries");
    }

    private static IEnumerable<(string Title, string Expression)> DashboardExpressions(JsonElement dashboard)
    {
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray()
                     .SelectMany(panel => panel.TryGetProperty("panels", out var nested) ? nested.EnumerateArray().Prepend(panel) : [panel]))
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                foreach (var target in targets.EnumerateArray())
                {
                    yield return (panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!);
                }
            }
        }
        if (dashboard.TryGetProperty("templating", out var templating))
        {
            foreach (var variable in templating.GetProperty("list").EnumerateArray())
            {
                if (variable.TryGetProperty("query", out var query)
                    && (query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString() : query.GetString()) is { } text
                    && LabelValues().Match(text) is { Success: true } values)
                {
                    yield return ($"variable {variable.GetProperty("name").GetString()}", values.Groups["selector"].Value);
                }
            }
        }
    }

    /// <summary>What Grafana would send: its interval variables as a duration, the dashboard's own variables as "any".</summary>
    private static string Grafana(string expression) =>
        GrafanaVariable().Replace(expression.Replace("$__rate_interval", "5m").Replace("$__interval", "1m").Replace("$__range", "1h"), ".*");

    /// <summary>The metric names of an expression: identifiers outside strings, label matchers, ranges and label lists, that call nothing.</summary>
    private static IEnumerable<string> MetricNames(string expression)
    {
        var bare = Grouping().Replace(Ranges().Replace(Matchers().Replace(Strings().Replace(expression, ""), ""), ""), "");
        return Identifier().Matches(bare).Where(match => !match.Groups["call"].Success).Select(match => match.Groups["name"].Value)
            .Where(name => !Keywords.Contains(name));
    }

    private static readonly HashSet<string> Keywords =
        ["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "inf", "nan", "Inf", "NaN"];

    private static HashSet<string> FamiliesIn(string metrics) =>
        [.. SampleName().Matches(metrics).Select(match => match.Groups["name"].Value)
            .SelectMany(name => new[] { name, HistogramSuffix().Replace(name, "") })];

    private static (int Exit, string Output) Promtool(string[] arguments, string? input)
    {
        var start = new ProcessStartInfo("promtool")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException("promtool did not start: ops/test installs Debian's prometheus, which has it");
        if (input is not null)
        {
            process.StandardInput.Write(input);
        }
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + errors.Result);
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{|\s)", RegexOptions.Multiline)]
    private static partial Regex SampleName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();

    [GeneratedRegex("""\$\{?[A-Za-z_][A-Za-z0-9_]*\}?""")]
    private static partial Regex GrafanaVariable();

    [GeneratedRegex(@"label_values\((?<selector>[^{,)]+(?:\{[^}]*\})?)\s*,")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Ranges();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![A-Za-z0-9_:.])(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();
}
