using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Shortlink.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Shortlink.Tests.Operations;

/// <summary>
/// The monitoring files that docker-compose.yml mounts (Grafana's provisioning and dashboards, Filebeat's configuration
/// and index template, the OpenTelemetry Collector's configuration) hold together without starting any of them: no
/// image of Grafana, Elasticsearch or the collector exists on CI, so a broken file would otherwise only show on a laptop.
/// </summary>
public sealed class MonitoringFilesTests
{
    private const string DatasourceUid = "prometheus";
    private const int GridColumns = 24;

    private static string[] Dashboards() =>
        [.. Directory.GetFiles(Path.Combine(Repository.Root, "ops", "grafana", "dashboards"), "*.json")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)];

    [Test]
    public void There_are_the_overview_and_data_tier_dashboards() =>
        Assert.That(Dashboards(), Is.EquivalentTo(new[] { "shortlink-data-tier.json", "shortlink-overview.json" }));

    [TestCaseSource(nameof(Dashboards))]
    public void A_dashboard_has_the_shape_grafana_provisions(string file)
    {
        var dashboard = Dashboard(file);
        Assert.Multiple(() =>
        {
            // A provisioned dashboard is found by uid; a numeric id in the file would clash with the database's own.
            Assert.That(dashboard.AsObject().ContainsKey("id") && dashboard["id"] is null, Is.True, "\"id\": null");
            Assert.That(Text(dashboard["uid"]), Is.Not.Empty.And.Length.AtMost(40), "uid");
            Assert.That(Text(dashboard["title"]), Is.Not.Empty, "title");
            Assert.That(dashboard["schemaVersion"]?.GetValue<int>(), Is.EqualTo(39), "schemaVersion");
            Assert.That(dashboard["panels"]?.AsArray(), Is.Not.Empty, "panels");
        });
    }

    [TestCaseSource(nameof(Dashboards))]
    public void Every_panel_queries_the_provisioned_prometheus(string file)
    {
        foreach (var panel in Panels(file))
        {
            var title = Text(panel["title"]);
            var gridPos = panel["gridPos"];
            var targets = panel["targets"]?.AsArray() ?? [];
            Assert.Multiple(() =>
            {
                Assert.That(Text(panel["type"]), Is.AnyOf("timeseries", "stat"), $"{file}: type of '{title}'");
                Assert.That(title, Is.Not.Empty, $"{file}: a panel without a title");
                Assert.That(panel["datasource"]?["type"]?.GetValue<string>(), Is.EqualTo("prometheus"), $"{file}: '{title}'");
                Assert.That(panel["datasource"]?["uid"]?.GetValue<string>(), Is.EqualTo(DatasourceUid), $"{file}: '{title}'");
                Assert.That(gridPos?["w"]?.GetValue<int>(), Is.InRange(1, GridColumns), $"{file}: width of '{title}'");
                Assert.That(gridPos?["h"]?.GetValue<int>(), Is.Positive, $"{file}: height of '{title}'");
                Assert.That(gridPos?["y"]?.GetValue<int>(), Is.AtLeast(0), $"{file}: y of '{title}'");
                Assert.That(gridPos?["x"]?.GetValue<int>() + gridPos?["w"]?.GetValue<int>(), Is.AtMost(GridColumns),
                    $"{file}: '{title}' reaches past the grid's {GridColumns} columns");
                Assert.That(targets, Is.Not.Empty, $"{file}: '{title}' has no query");
                foreach (var target in targets)
                {
                    Assert.That(Text(target?["expr"]), Is.Not.Empty, $"{file}: a query of '{title}' without expr");
                    Assert.That(Text(target?["refId"]), Is.Not.Empty, $"{file}: a query of '{title}' without refId");
                }
                Assert.That(targets.Select(target => Text(target?["refId"])), Is.Unique, $"{file}: refIds of '{title}'");
            });
        }
    }

    [TestCaseSource(nameof(Dashboards))]
    public void Panel_ids_are_unique_within_a_dashboard(string file) =>
        Assert.That(Panels(file).Select(panel => panel["id"]?.GetValue<int>()), Is.Unique.And.All.Not.Null);

    [Test]
    public void Dashboard_uids_are_unique() =>
        Assert.That(Dashboards().Select(file => Text(Dashboard(file)["uid"])), Is.Unique);

    /// <summary>
    /// A fixed window (rate(x[1m])) shows nothing when it holds fewer than two scrapes; Grafana's $__rate_interval is
    /// always at least four of them (the datasource's timeInterval).
    /// </summary>
    [TestCaseSource(nameof(Dashboards))]
    public void Every_range_is_the_rate_interval(string file)
    {
        var ranges = Expressions(file).SelectMany(expr => Regex.Matches(expr, @"\[([^\]]*)\]").Select(match => match.Groups[1].Value));
        Assert.That(ranges, Is.Not.Empty.And.All.EqualTo("$__rate_interval"));
    }

    [TestCaseSource(nameof(Dashboards))]
    public void Every_variable_a_query_uses_is_defined(string file)
    {
        var defined = Dashboard(file)["templating"]?["list"]?.AsArray().Select(variable => Text(variable?["name"])) ?? [];
        var used = Expressions(file)
            .SelectMany(expr => Regex.Matches(expr, @"\$(\w+)").Select(match => match.Groups[1].Value))
            .Where(name => !name.StartsWith("__", StringComparison.Ordinal))
            .Distinct();
        Assert.That(defined, Is.SupersetOf(used));
    }

    [Test]
    public void The_datasource_is_the_default_and_the_compose_prometheus()
    {
        var datasources = Sequence(Yaml("ops/grafana/provisioning/datasources/prometheus.yml")["datasources"]);
        var prometheus = datasources.Single(datasource => Scalar(datasource["uid"]) == DatasourceUid);
        var service = Compose()["services"]["prometheus"];
        Assert.Multiple(() =>
        {
            Assert.That(Scalar(prometheus["type"]), Is.EqualTo("prometheus"));
            Assert.That(Scalar(prometheus["isDefault"]), Is.EqualTo("true"));
            Assert.That(Scalar(prometheus["url"]), Is.EqualTo("http://prometheus:9090"));
            Assert.That(Sequence(service["ports"]).Select(Scalar), Has.Some.EndsWith(":9090"), "the port the datasource names");
        });
    }

    [Test]
    public void Grafana_finds_its_provisioning_and_dashboards_where_compose_mounts_them()
    {
        var mounts = BindMounts("grafana");
        var provisioning = mounts.Single(mount => mount.Target == "/etc/grafana/provisioning");
        var providers = Sequence(Yaml(Path.Combine(provisioning.Source, "dashboards", "shortlink.yml"))["providers"]);
        var provider = providers.Single();
        var dashboards = mounts.Single(mount => mount.Target == Scalar(provider["options"]["path"]));
        Assert.Multiple(() =>
        {
            Assert.That(Scalar(provider["type"]), Is.EqualTo("file"));
            Assert.That(File.Exists(Path.Combine(Repository.Root, provisioning.Source, "datasources", "prometheus.yml")), Is.True,
                "the datasource, under the mounted provisioning directory");
            Assert.That(Path.GetFullPath(Path.Combine(Repository.Root, dashboards.Source)),
                Is.EqualTo(Path.Combine(Repository.Root, "ops", "grafana", "dashboards")), "the provider's path is the dashboards' mount");
        });
    }

    [Test]
    public void Filebeat_decodes_the_json_lines_into_the_root_and_writes_the_templated_indices()
    {
        var filebeat = Yaml("ops/filebeat/filebeat.yml");
        var template = IndexTemplate();
        var patterns = template["index_patterns"]!.AsArray().Select(Text).ToArray();
        var decode = Sequence(filebeat["processors"]).Select(processor => (YamlMappingNode)processor)
            .Single(processor => processor.Children.ContainsKey("decode_json_fields"))["decode_json_fields"];
        // The index as Filebeat names it on a given day.
        var index = Regex.Replace(Scalar(filebeat["output.elasticsearch"]["index"]), @"%\{[^}]*\}", "2025.01.31");
        Assert.Multiple(() =>
        {
            Assert.That(Sequence(decode["fields"]).Select(Scalar), Is.EqualTo(new[] { "message" }));
            Assert.That(Scalar(decode["target"]), Is.Empty, "decoded into the event's root");
            Assert.That(Scalar(decode["overwrite_keys"]), Is.EqualTo("true"), "the line's message replaces the raw line");
            Assert.That(patterns.Any(pattern => Glob(pattern).IsMatch(index)), Is.True, $"{index} matches none of {string.Join(", ", patterns)}");
            Assert.That(Scalar(filebeat["setup.template.pattern"]), Is.AnyOf(patterns));
            Assert.That(Scalar(filebeat["setup.template.json.enabled"]), Is.EqualTo("true"));
            Assert.That(Scalar(filebeat["setup.template.json.name"]), Is.EqualTo(Scalar(filebeat["setup.template.name"])));
            Assert.That(Scalar(filebeat["setup.ilm.enabled"]), Is.EqualTo("false"), "ILM would write to its own alias instead");
            Assert.That(BindMounts("filebeat").Select(mount => mount.Target), Does.Contain(Scalar(filebeat["setup.template.json.path"])),
                "the template's path in the container is where compose mounts index-template.json");
        });
    }

    [TestCase("timestamp", "date")]
    [TestCase("level", "keyword")]
    [TestCase("message", "text")]
    [TestCase("trace_id", "keyword")]
    [TestCase("span_id", "keyword")]
    [TestCase("service", "keyword")]
    [TestCase("instance", "keyword")]
    [TestCase("role", "keyword")]
    [TestCase("region", "keyword")]
    [TestCase("version", "keyword")]
    [TestCase("SourceContext", "keyword")]
    [TestCase("RequestMethod", "keyword")]
    [TestCase("RouteTemplate", "keyword")]
    [TestCase("StatusCode", "integer")]
    [TestCase("Elapsed", "float")]
    public void The_index_template_maps_a_log_field(string field, string type) =>
        Assert.That(IndexTemplate()["template"]?["mappings"]?["properties"]?[field]?["type"]?.GetValue<string>(), Is.EqualTo(type));

    [Test]
    public void The_index_template_is_composable_for_the_shortlink_logs() =>
        Assert.That(IndexTemplate()["index_patterns"]!.AsArray().Select(Text), Is.EqualTo(new[] { "shortlink-logs-*" }));

    [Test]
    public void Every_component_of_the_collectors_pipelines_is_defined()
    {
        var config = Yaml("ops/otel-collector/config.yaml");
        var pipelines = ((YamlMappingNode)config["service"]["pipelines"]).Children;
        Assert.That(pipelines, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var (name, pipeline) in pipelines)
            {
                foreach (var kind in new[] { "receivers", "processors", "exporters" })
                {
                    var defined = ((YamlMappingNode)config[kind]).Children.Keys.Select(Scalar);
                    Assert.That(Sequence(pipeline[kind]).Select(Scalar), Is.Not.Empty.And.SubsetOf(defined), $"{Scalar(name)}: {kind}");
                }
                // Refusing data before the limit only works ahead of every processor that holds some.
                Assert.That(Sequence(pipeline["processors"]).Select(Scalar).First(), Is.EqualTo("memory_limiter"), Scalar(name));
            }
        });
    }

    [Test]
    public void The_collector_exports_to_a_compose_service_it_receives_on()
    {
        var config = Yaml("ops/otel-collector/config.yaml");
        var services = (YamlMappingNode)Compose()["services"];
        var endpoint = Scalar(config["exporters"]["otlp"]["endpoint"]);
        Assert.Multiple(() =>
        {
            Assert.That(services.Children.Keys.Select(Scalar), Does.Contain(endpoint.Split(':')[0]));
            Assert.That(Scalar(config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]), Is.EqualTo("0.0.0.0:4317"),
                "on every interface of the container, where the services' OTEL_EXPORTER_OTLP_ENDPOINT reaches it");
            Assert.That(BindMounts("otel-collector").Select(mount => mount.Source), Does.Contain("./ops/otel-collector/config.yaml"));
        });
    }

    [Test]
    public void Every_compose_service_rotates_its_json_file_log()
    {
        var services = ((YamlMappingNode)Compose()["services"]).Children;
        Assert.Multiple(() =>
        {
            foreach (var (name, service) in services)
            {
                var logging = service["logging"];
                Assert.That(Scalar(logging["driver"]), Is.EqualTo("json-file"), Scalar(name));
                Assert.That(Scalar(logging["options"]["max-size"]), Is.Not.Empty, Scalar(name));
                Assert.That(Scalar(logging["options"]["max-file"]), Is.Not.Empty, Scalar(name));
            }
        });
    }

    /// <summary>The tools with no image on CI start only with their profile, so a plain `docker compose up` needs none.</summary>
    [TestCase("grafana", "dashboards")]
    [TestCase("alertmanager", "alerting")]
    [TestCase("elasticsearch", "elk")]
    [TestCase("kibana", "elk")]
    [TestCase("filebeat", "elk")]
    [TestCase("otel-collector", "tracing")]
    [TestCase("jaeger", "tracing")]
    public void A_monitoring_tool_starts_with_its_profile(string service, string profile) =>
        Assert.That(Sequence(Compose()["services"][service]["profiles"]).Select(Scalar), Is.EqualTo(new[] { profile }));

    [Test]
    public void Every_file_compose_mounts_from_the_checkout_exists()
    {
        var services = ((YamlMappingNode)Compose()["services"]).Children.Keys.Select(Scalar);
        var missing = services.SelectMany(BindMounts)
            .Select(mount => mount.Source)
            .Where(source => !Path.Exists(Path.Combine(Repository.Root, source)));
        Assert.That(missing, Is.Empty);
    }

    private sealed record Mount(string Source, string Target);

    /// <summary>A service's short-syntax volumes that come from the checkout (./...), not named volumes or host paths.</summary>
    private static Mount[] BindMounts(string service)
    {
        var volumes = ((YamlMappingNode)Compose()["services"][service]).Children.TryGetValue("volumes", out var found) ? Sequence(found) : [];
        return [.. volumes.Select(Scalar)
            .Where(volume => volume.StartsWith("./", StringComparison.Ordinal))
            .Select(volume => volume.Split(':'))
            .Select(parts => new Mount(parts[0], parts[1]))];
    }

    private static JsonNode Dashboard(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.Root, "ops", "grafana", "dashboards", file)))!;

    private static IEnumerable<JsonNode> Panels(string file) => Dashboard(file)["panels"]!.AsArray().OfType<JsonNode>();

    private static IEnumerable<string> Expressions(string file) =>
        Panels(file).SelectMany(panel => panel["targets"]?.AsArray() ?? []).Select(target => Text(target?["expr"]));

    private static JsonNode IndexTemplate() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Repository.Root, "ops", "filebeat", "index-template.json")))!;

    private static YamlNode Compose() => Yaml("docker-compose.yml");

    private static YamlNode Yaml(string relativePath)
    {
        var stream = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Repository.Root, relativePath)));
        stream.Load(reader);
        return stream.Documents.Single().RootNode;
    }

    private static IList<YamlNode> Sequence(YamlNode node) => ((YamlSequenceNode)node).Children;

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    private static string Text(JsonNode? node) => node?.GetValue<string>() ?? "";

    /// <summary>Elasticsearch's index pattern wildcard (*) as a regular expression.</summary>
    private static Regex Glob(string pattern) => new("^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal) + "$");
}
