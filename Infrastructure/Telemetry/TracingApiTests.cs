using System.Collections;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using OpenTelemetry.Trace;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Telemetry;

/// <summary>
/// One redirect that misses the cache, followed through its trace with OpenTelemetry's in-memory exporter: the HTTP
/// span, the cache lookup and the queries it needed (named by shard and role), the visit's publication, and the
/// worker's spans that took it from RabbitMQ and wrote it.
/// </summary>
public sealed class TracingApiTests : ApiTestBase
{
    private readonly ExportedSpans exported = new();

    protected override bool UsesRedis => true;

    protected override bool UsesRabbitMq => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
        // No OTLP exporter here: the in-memory one is added in code.
        ["Shortlink:Telemetry:Tracing"] = "On",
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(exported));

    [Test]
    public async Task A_redirect_that_misses_the_cache_is_traced_to_the_worker_that_wrote_its_visit()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/traced-end-to-end" })).GetProperty("code").GetString()!;
        var trace = ActivityTraceId.CreateRandom();
        using (var visitor = NewClient(key: null))
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}"))
        {
            request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            using var response = await visitor.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }

        await Eventually.TrueAsync(() => Task.FromResult(exported.InTrace(trace).Any(span => span.DisplayName == "visits write")),
            TimeSpan.FromSeconds(30), () => "Spans of the trace: " + string.Join(", ", exported.InTrace(trace).Select(span => span.DisplayName)));
        var spans = exported.InTrace(trace);
        var server = spans.Single(span => span.Source.Name == "Microsoft.AspNetCore");
        var lookup = spans.Single(span => span.DisplayName == "link lookup");
        var queries = spans.Where(span => span.Source.Name == "MySqlConnector" && IsBelow(span, lookup, spans)).ToList();
        var publish = spans.Single(span => span.DisplayName == "visits publish");
        var process = spans.Single(span => span.DisplayName == "visits process");
        var write = spans.Single(span => span.DisplayName == "visits write");
        Assert.Multiple(() =>
        {
            Assert.That(server.Kind, Is.EqualTo(ActivityKind.Server));
            Assert.That(server.GetTagItem("http.route"), Is.EqualTo("/{code}"));
            Assert.That(lookup.ParentSpanId, Is.EqualTo(server.SpanId), "the cache lookup is the redirect's");
            Assert.That(lookup.GetTagItem(ShortlinkActivities.CacheResultTag), Is.EqualTo("loaded"));
            Assert.That(queries, Is.Not.Empty, "the lookup's queries are below it");
            Assert.That(queries.Select(query => query.GetTagItem(DatabaseSpans.ShardTag)), Has.All.EqualTo(0));
            Assert.That(queries.Select(query => query.GetTagItem(DatabaseSpans.RoleTag)), Has.All.EqualTo("primary"));
            Assert.That(queries.Select(query => query.GetTagItem(DatabaseSpans.PoolTag)), Has.All.EqualTo("shard0-primary"));
            Assert.That(queries.Select(query => query.GetTagItem("db.connection_string")), Has.All.Null,
                "the connection string (server, user) is replaced by the pool's name");
            Assert.That(publish.Kind, Is.EqualTo(ActivityKind.Producer));
            Assert.That(IsBelow(publish, server, spans), "the publication descends from the redirect that buffered the visit");
            Assert.That(process.Kind, Is.EqualTo(ActivityKind.Consumer));
            Assert.That(process.ParentSpanId, Is.EqualTo(publish.SpanId), "the worker continues the message's trace");
            Assert.That(write.ParentSpanId, Is.EqualTo(process.SpanId));
            Assert.That(write.GetTagItem("shortlink.visits.written"), Is.EqualTo(1), "the worker's span wrote this visit");
            Assert.That(write.GetTagItem(DatabaseSpans.ShardTag), Is.EqualTo(0));
        });
    }

    [Test]
    public async Task A_visit_written_by_its_own_instance_is_linked_to_its_redirect()
    {
        exported.Clear();
        await using var embedded = new ShortlinkApp(ConnectionString, new Dictionary<string, string?>(ServiceSettings)
        {
            ["Shortlink:RabbitMq:ConnectionString"] = "",
        }, ConfigureServices);
        using var visitor = embedded.CreateClient(new() { AllowAutoRedirect = false });
        TestKeys.Authorize(visitor, TestKeys.Admin);
        var code = (await CreateLinkAsync(new { url = "https://example.com/traced-embedded" })).GetProperty("code").GetString()!;
        var trace = ActivityTraceId.CreateRandom();
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}"))
        {
            request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            using var response = await visitor.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }

        await Eventually.TrueAsync(() => Task.FromResult(exported.All().Any(span => span.DisplayName == "visits write"
            && span.Links.Any(link => link.Context.TraceId == trace))), TimeSpan.FromSeconds(30));
        // Both instances' providers hear every span in the process: each span may be there twice.
        var server = exported.InTrace(trace).First(span => span.Source.Name == "Microsoft.AspNetCore");
        var write = exported.All().First(span => span.DisplayName == "visits write" && span.Links.Any(link => link.Context.TraceId == trace));
        Assert.That(write.Links.Select(link => link.Context.SpanId), Does.Contain(server.SpanId),
            "the batch writer's span links to the redirect's span");
    }

    [TestCase("", false)]
    [TestCase("http://127.0.0.1:4317", true)]
    public async Task By_default_a_tracer_is_built_only_when_spans_have_somewhere_to_go(string otlpEndpoint, bool traced)
    {
        await using var instance = new ShortlinkApp(ConnectionString, new Dictionary<string, string?>(ServiceSettings)
        {
            ["Shortlink:Telemetry:Tracing"] = "Auto",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint,
        });
        using var client = instance.CreateClient();
        Assert.That(instance.Services.GetService<TracerProvider>(), traced ? Is.Not.Null : Is.Null);
    }

    private static bool IsBelow(Activity span, Activity ancestor, IReadOnlyCollection<Activity> spans)
    {
        for (var current = span; current is not null; current = spans.FirstOrDefault(parent => parent.SpanId == current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The exporter's collection, read by the test while the service's threads add to it.</summary>
    private sealed class ExportedSpans : ICollection<Activity>
    {
        private readonly List<Activity> spans = [];

        public int Count
        {
            get
            {
                lock (spans)
                {
                    return spans.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<Activity> All()
        {
            lock (spans)
            {
                return [.. spans];
            }
        }

        public List<Activity> InTrace(ActivityTraceId trace) => All().Where(span => span.TraceId == trace).ToList();

        public void Add(Activity item)
        {
            lock (spans)
            {
                spans.Add(item);
            }
        }

        public void Clear()
        {
            lock (spans)
            {
                spans.Clear();
            }
        }

        public bool Contains(Activity item) => All().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => All().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (spans)
            {
                return spans.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => All().GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
