using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using MySqlConnector;
using NUnit.Framework;
using RabbitMQ.Client;
using Shortlink.Features.Links;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics.Queue;

/// <summary>
/// The RabbitMQ transport when things go wrong: a worker killed mid-batch, RabbitMQ away for half a minute, messages
/// delivered twice, messages that are no visits, visits the database refuses; and what crosses the queue besides
/// visits (the redirect's trace).
/// </summary>
public sealed class VisitQueueApiTests : ApiTestBase
{
    private const int DeliveryLimit = 3;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:Visits:Enabled"] = "true",
        ["Shortlink:RabbitMq:DeliveryLimit"] = DeliveryLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // RabbitMQ's return is logged at Information, as is a queue declared with other arguments.
        ["Serilog:MinimumLevel:Override:Shortlink.Infrastructure.Telemetry"] = "Information",
    };

    protected override bool UsesRabbitMq => true;

    private string QueueName => ServiceSettings["Shortlink:RabbitMq:VisitsQueue"]!;

    private Task<long> CountAsync(string sql, object? parameters = null) => QueryScalarAsync<long>(sql, parameters);

    private Task<long> VisitsOfUrlsLikeAsync(string pattern) => CountAsync(
        "SELECT COUNT(*) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.url LIKE @pattern", new { pattern });

    private Task<long> TotalOfUrlsLikeAsync(string pattern) => CountAsync("""
        SELECT COALESCE(SUM(r.visits), 0) FROM visit_rollups r JOIN links l ON l.id = r.link_id
        WHERE l.url LIKE @pattern AND r.dimension = 'total'
        """, new { pattern });

    private string Logged() =>
        "The service logged:\n" + string.Join('\n', App.Logs.Events.Select(e => $"{e.Level}: {e.RenderMessage()} {e.Exception?.Message}"));

    private async Task<string[]> CreateLinksAsync(string prefix, int count)
    {
        using var created = await PostJsonAsync("/api/v1/links/bulk", JsonSerializer.Serialize(new
        {
            items = Enumerable.Range(0, count).Select(i => new { url = $"https://example.com/{prefix}/{i}" }),
        }));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.OK).Or.EqualTo(HttpStatusCode.Created));
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("items")
            .EnumerateArray().Select(item => item.GetProperty("link").GetProperty("code").GetString()!).ToArray();
    }

    /// <summary>Another instance on this fixture's database, e.g. an API-only one; on queues of its own unless told otherwise.</summary>
    private ShortlinkApp Instance(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>(ServiceSettings);
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }
        return new ShortlinkApp(ConnectionString, settings);
    }

    private ServiceProcess StartWorker(int port, string queue, params (string Name, string Value)[] settings) => ServiceProcess.Start(new Dictionary<string, string>(
        settings.Select(setting => KeyValuePair.Create(setting.Name, setting.Value)))
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["Shortlink__Role"] = "Worker",
        ["Shortlink__Database__ConnectionString"] = ConnectionString,
        ["Shortlink__PublicBaseUrl"] = ShortlinkApp.PublicBaseUrl,
        ["Shortlink__RabbitMq__ConnectionString"] = RabbitMqConnectionString!,
        ["Shortlink__RabbitMq__VisitsQueue"] = queue,
        ["Shortlink__RabbitMq__DeliveryLimit"] = ServiceSettings["Shortlink:RabbitMq:DeliveryLimit"]!,
        // Small batches, so that a kill lands between a batch's commit and its acknowledgement as well as inside one.
        ["Shortlink__Visits__BatchSize"] = "200",
        ["Shortlink__RabbitMq__VisitsPerMessage"] = "50",
    });

    [Test]
    public async Task A_worker_killed_mid_batch_and_started_again_counts_every_visit_exactly_once()
    {
        var queue = $"t-{Guid.NewGuid():N}";
        try
        {
            var codes = await CreateLinksAsync("killed-worker", 200);
            await using var api = Instance(("Shortlink:Role", "Api"), ("Shortlink:RabbitMq:VisitsQueue", queue),
                ("Shortlink:RabbitMq:VisitsPerMessage", "50"));
            using var visitor = api.CreateClient(new() { AllowAutoRedirect = false });
            var port = Ports.FreeLoopbackPort();
            using var workerHttp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var worker = StartWorker(port, queue);
            await using (worker)
            {
                await ServiceProcess.WaitUntilReadyAsync(workerHttp, TimeSpan.FromSeconds(60));
                using (var apiRoute = await workerHttp.GetAsync("/api/v1/links"))
                {
                    Assert.That(apiRoute.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a worker serves health and metrics, no API");
                }
                var redirects = Parallel.ForEachAsync(Enumerable.Range(0, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 16 },
                    async (i, ct) =>
                    {
                        using var response = await visitor.GetAsync($"/{codes[i % codes.Length]}", ct);
                        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
                    });
                await Eventually.TrueAsync(async () => await VisitsOfUrlsLikeAsync("https://example.com/killed-worker/%") >= 2_000,
                    TimeSpan.FromSeconds(60));
                await worker.KillAsync();
                await redirects;
            }
            var writtenByTheKilled = await VisitsOfUrlsLikeAsync("https://example.com/killed-worker/%");
            Assert.That(writtenByTheKilled, Is.LessThan(10_000), "killed before it had written everything");
            await using (StartWorker(port, queue))
            {
                await Eventually.TrueAsync(async () => await VisitsOfUrlsLikeAsync("https://example.com/killed-worker/%") >= 10_000,
                    TimeSpan.FromSeconds(90));
                // Anything delivered again after the kill has been handled by now: the queue is empty.
                await Eventually.TrueAsync(async () => await TestQueues.CountAsync(RabbitMqConnectionString!, queue) == 0);
            }
            Assert.Multiple(async () =>
            {
                Assert.That(await CountAsync("""
                    SELECT COUNT(DISTINCT v.id) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.url LIKE 'https://example.com/killed-worker/%'
                    """), Is.EqualTo(10_000));
                Assert.That(await VisitsOfUrlsLikeAsync("https://example.com/killed-worker/%"), Is.EqualTo(10_000));
                Assert.That(await TotalOfUrlsLikeAsync("https://example.com/killed-worker/%"), Is.EqualTo(10_000), "rollups count each visit once");
                Assert.That(await PrometheusText.SumAsync(visitor, "shortlink_visits_dropped_total"), Is.Zero);
                Assert.That(await TestQueues.CountAsync(RabbitMqConnectionString!, queue + ".dead"), Is.Zero);
            });
        }
        finally
        {
            await TestQueues.DeleteAsync(RabbitMqConnectionString!, queue);
        }
    }

    [Test]
    public async Task Redirects_go_on_while_RabbitMQ_is_away_for_thirty_seconds_and_every_visit_is_counted_once_it_is_back()
    {
        await using var rabbitMq = new DisposableRabbitMq();
        await rabbitMq.StartAsync();
        var codes = await CreateLinksAsync("rabbitmq-away", 20);
        await using var app = Instance(("Shortlink:RabbitMq:ConnectionString", rabbitMq.ConnectionString));
        using var visitor = app.CreateClient(new() { AllowAutoRedirect = false });
        using var stop = new CancellationTokenSource();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var redirects = Task.Run(async () =>
        {
            var elapsed = Stopwatch.StartNew();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                using var response = await visitor.GetAsync($"/{codes[i % codes.Length]}");
                statuses.Add(response.StatusCode);
                await Task.Delay(5);
                // The instance's clock follows real time, so that the outage's end is logged with its length.
                app.Clock.Advance(elapsed.Elapsed);
                elapsed.Restart();
            }
        });
        await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(visitor, "shortlink_visits_consumed_total") > 0, TimeSpan.FromSeconds(30));

        await rabbitMq.StopAsync();
        var away = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () =>
        {
            using var ready = await visitor.GetAsync("/health/ready");
            return ready.StatusCode == HttpStatusCode.OK && await ready.Content.ReadAsStringAsync() == "Degraded";
        }, TimeSpan.FromSeconds(30));
        var sentBeforeOutage = statuses.Count;
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, 30 - away.Elapsed.TotalSeconds)));
        Assert.That(statuses.Count - sentBeforeOutage, Is.GreaterThan(1_000), "redirects went on while RabbitMQ was away");
        await rabbitMq.StartAsync();
        await Eventually.TrueAsync(async () =>
        {
            using var ready = await visitor.GetAsync("/health/ready");
            return await ready.Content.ReadAsStringAsync() == "Healthy";
        }, TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await redirects;

        Assert.That(statuses.Where(status => status != HttpStatusCode.Found), Is.Empty, "every redirect answered 302");
        Assert.That(await PrometheusText.SumAsync(visitor, "shortlink_visits_dropped_total"), Is.Zero,
            "the buffer holds more than half a minute of this traffic");
        await Eventually.TrueAsync(async () => await VisitsOfUrlsLikeAsync("https://example.com/rabbitmq-away/%") >= statuses.Count,
            TimeSpan.FromSeconds(60));
        Assert.Multiple(async () =>
        {
            Assert.That(await VisitsOfUrlsLikeAsync("https://example.com/rabbitmq-away/%"), Is.EqualTo(statuses.Count));
            Assert.That(await TotalOfUrlsLikeAsync("https://example.com/rabbitmq-away/%"), Is.EqualTo(statuses.Count));
        });
        var outageLines = app.Logs.Events.Select(e => e.RenderMessage()).Where(line => line.Contains("RabbitMQ", StringComparison.Ordinal)).ToList();
        Assert.That(outageLines, Has.Some.Contains("unavailable").And.Some.Contains("available again"), string.Join('\n', outageLines));
    }

    [Test]
    public async Task A_batch_waiting_on_a_lock_holds_up_neither_the_visits_behind_it_nor_their_acknowledgement()
    {
        var queue = $"t-{Guid.NewGuid():N}";
        try
        {
            var held = (await CreateLinkAsync(new { url = "https://example.com/queued-behind-a-lock" })).GetProperty("code").GetString()!;
            var free = (await CreateLinkAsync(new { url = "https://example.com/queued-not-behind-a-lock" })).GetProperty("code").GetString()!;
            async Task PublishVisitOfAsync(string code)
            {
                var link = await LinkAsync(code);
                VisitEvent[] visit = [new(LinkIds.Next(DateTimeOffset.UtcNow), link.Id, link.OwnerId, code, DateTime.UtcNow, null, TestVisits.Chrome, null, 1, "test-1")];
                await TestQueues.PublishAsync(RabbitMqConnectionString!, queue, VisitMessages.Properties(default), VisitMessages.Encode(visit));
            }
            await using var rollups = await HeldRollups.HoldAsync(ConnectionString, (await LinkAsync(held)).Id);
            var port = Ports.FreeLoopbackPort();
            var worker = StartWorker(port, queue, ("Shortlink__Visits__Writers", "2"));
            await using (worker)
            {
                await PublishVisitOfAsync(held);
                await rollups.WaitUntilAWriterWaitsAsync();
                await PublishVisitOfAsync(free);
                await Eventually.TrueAsync(async () => await VisitsOfUrlsLikeAsync("https://example.com/queued-not-behind-a-lock") == 1,
                    TimeSpan.FromSeconds(10), () => string.Join('\n', worker.Output));
                Assert.That(await VisitsOfUrlsLikeAsync("https://example.com/queued-behind-a-lock"), Is.Zero, "its batch is still waiting");
                await worker.KillAsync();
            }
            // Killed while the batch waited: its message was never acknowledged, not even with the one written after it.
            await Eventually.TrueAsync(async () => await TestQueues.CountAsync(RabbitMqConnectionString!, queue) == 1);
            Assert.That(await VisitsOfUrlsLikeAsync("https://example.com/queued-behind-a-lock"), Is.Zero);
        }
        finally
        {
            await TestQueues.DeleteAsync(RabbitMqConnectionString!, queue);
        }
    }

    [Test]
    public async Task A_message_delivered_twice_counts_its_visits_once()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/twice" })).GetProperty("code").GetString()!;
        var link = await LinkAsync(code);
        var now = DateTime.UtcNow;
        List<VisitEvent> visits = [.. Enumerable.Range(0, 3).Select(i => new VisitEvent(
            LinkIds.Next(DateTimeOffset.UtcNow), link.Id, link.OwnerId, code, now, null, "curl/8.5.0", null, (ulong)i, "test-1"))];
        for (var delivery = 0; delivery < 2; delivery++)
        {
            await TestQueues.PublishAsync(RabbitMqConnectionString!, QueueName, VisitMessages.Properties(default), VisitMessages.Encode(visits));
        }
        // Once in CI this took longer than 20 s, on a loaded machine: a minute, with what the service logged.
        await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(Http, "shortlink_visits_consumed_total") >= 6,
            TimeSpan.FromSeconds(60), Logged);
        await Eventually.TrueAsync(async () => await TestQueues.CountAsync(RabbitMqConnectionString!, QueueName) == 0,
            TimeSpan.FromSeconds(60), Logged);
        Assert.Multiple(async () =>
        {
            Assert.That(await VisitsOfUrlsLikeAsync("https://example.com/twice"), Is.EqualTo(3));
            Assert.That(await TotalOfUrlsLikeAsync("https://example.com/twice"), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task A_json_message_queued_by_a_version_before_the_binary_one_is_counted()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/queued-as-json" })).GetProperty("code").GetString()!;
        var link = await LinkAsync(code);
        List<VisitEvent> visits = [.. Enumerable.Range(0, 2).Select(i => new VisitEvent(
            LinkIds.Next(DateTimeOffset.UtcNow), link.Id, link.OwnerId, code, DateTime.UtcNow, "news.example.org", "curl/8.5.0", "DE", (ulong)i, "old-1"))];
        await TestQueues.PublishAsync(RabbitMqConnectionString!, QueueName,
            new BasicProperties { Type = VisitMessages.JsonType, ContentType = "application/json", Persistent = true },
            JsonSerializer.SerializeToUtf8Bytes(visits, VisitMessageJson.Default.ListVisitEvent));
        await Eventually.TrueAsync(async () => await TotalOfUrlsLikeAsync("https://example.com/queued-as-json") == 2,
            TimeSpan.FromSeconds(60), Logged);
        Assert.That(await VisitsOfUrlsLikeAsync("https://example.com/queued-as-json"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_message_that_is_no_visits_message_is_dead_lettered_at_once_and_counted()
    {
        var deadBefore = await TestQueues.CountAsync(RabbitMqConnectionString!, QueueName + ".dead");
        var countedBefore = await PrometheusText.SumAsync(Http, "shortlink_visits_dead_lettered_total");
        await TestQueues.PublishAsync(RabbitMqConnectionString!, QueueName,
            new BasicProperties { Type = VisitMessages.Type, Persistent = true }, Encoding.UTF8.GetBytes("[{\"visitId\": \"not a visit\"}]"));
        await TestQueues.PublishAsync(RabbitMqConnectionString!, QueueName,
            new BasicProperties { Type = "something.else.v1", Persistent = true }, Encoding.UTF8.GetBytes("[]"));
        await Eventually.TrueAsync(async () => await TestQueues.CountAsync(RabbitMqConnectionString!, QueueName + ".dead") == deadBefore + 2,
            circumstances: Logged);
        await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(Http, "shortlink_visits_dead_lettered_total") == countedBefore + 2);
        Assert.That(App.Logs.Events.Where(e => e.Level == Serilog.Events.LogEventLevel.Error).Select(e => e.RenderMessage()),
            Has.Exactly(2).Contains("not a visits message"));
    }

    [Test]
    public async Task A_message_the_database_refuses_is_retried_to_the_delivery_limit_then_dead_lettered_while_the_others_are_written()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/refused-by-the-database" })).GetProperty("code").GetString()!;
        var deadBefore = await TestQueues.CountAsync(RabbitMqConnectionString!, QueueName + ".dead");
        var countedBefore = await PrometheusText.SumAsync(Http, "shortlink_visits_dead_lettered_total");
        await ExecuteAsync("ALTER TABLE visits ADD CONSTRAINT ck_no_refused CHECK (region <> 'refused')");
        try
        {
            // An API instance from a region the database refuses, on this fixture's queue; the fixture's own instance consumes.
            await using (var refusedRegion = Instance(("Shortlink:Role", "Api"), ("Shortlink:RabbitMq:VisitsQueue", QueueName),
                ("Shortlink:Visits:Region", "refused")))
            {
                using var refusedVisitor = refusedRegion.CreateClient(new() { AllowAutoRedirect = false });
                (await refusedVisitor.GetAsync($"/{code}")).Dispose();
                await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(refusedVisitor, "shortlink_visits_confirmed_total") == 1);
            }
            (await Http.GetAsync($"/{code}")).Dispose();
            await Eventually.TrueAsync(async () => await TestQueues.CountAsync(RabbitMqConnectionString!, QueueName + ".dead") == deadBefore + 1,
                circumstances: Logged);
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE visits DROP CONSTRAINT ck_no_refused");
        }
        await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(Http, "shortlink_visits_dead_lettered_total") == countedBefore + 1);
        // The other visit is written.
        await Eventually.TrueAsync(async () => await VisitsOfUrlsLikeAsync("https://example.com/refused-by-the-database") == 1);
        Assert.That(App.Logs.Events.Select(e => e.RenderMessage()), Has.One.Contains($"refused by the database on {DeliveryLimit} deliveries"));
    }

    [Test]
    public async Task A_visit_message_carries_its_redirects_trace_and_the_worker_continues_it()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/traced" })).GetProperty("code").GetString()!;
        var trace = ActivityTraceId.CreateRandom();
        var finished = new ConcurrentQueue<Activity>();
        // Only this test's trace is sampled: the other tests run without listeners, as a service without tracing does.
        using var listener = new ActivityListener
        {
            // By name: comparing with ShortlinkActivities.Source could run its static initialiser inside this check, which
            // then sees the source as null and never listens to it.
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or Infrastructure.Telemetry.ShortlinkActivities.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.TraceId == trace ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = finished.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var unconsumedQueue = $"t-{Guid.NewGuid():N}";
        try
        {
            // Through an API instance on a queue nobody consumes, to read the message as it travels.
            await using (var api = Instance(("Shortlink:Role", "Api"), ("Shortlink:RabbitMq:VisitsQueue", unconsumedQueue)))
            {
                using var visitor = api.CreateClient(new() { AllowAutoRedirect = false });
                await RedirectInTraceAsync(visitor, code, trace);
                await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(visitor, "shortlink_visits_confirmed_total") == 1);
            }
            await using var connection = await TestQueues.ConnectAsync(RabbitMqConnectionString!);
            await using var channel = await connection.CreateChannelAsync();
            var message = await channel.BasicGetAsync(unconsumedQueue, autoAck: true);
            Assert.That(message, Is.Not.Null);
            var traceParent = Encoding.UTF8.GetString((byte[])message!.BasicProperties.Headers![VisitMessages.TraceParentHeader]!);
            Assert.That(traceParent, Does.StartWith($"00-{trace.ToHexString()}-"));
        }
        finally
        {
            await TestQueues.DeleteAsync(RabbitMqConnectionString!, unconsumedQueue);
        }

        // Through this fixture's instance, which also consumes: the worker's span is in the redirect's trace.
        await RedirectInTraceAsync(Http, code, trace);
        await Eventually.TrueAsync(() => Task.FromResult(finished.Any(activity => activity.OperationName == "visits process")),
            circumstances: () => "Spans finished: " + string.Join(", ", finished.Select(activity => $"{activity.OperationName} {activity.TraceId}")));
        var spans = finished.ToList();
        var redirect = spans.Last(activity => activity.Source.Name == "Microsoft.AspNetCore");
        var process = spans.Single(activity => activity.OperationName == "visits process");
        Assert.Multiple(() =>
        {
            Assert.That(process.TraceId, Is.EqualTo(trace));
            Assert.That(process.Kind, Is.EqualTo(ActivityKind.Consumer));
            Assert.That(spans.Select(span => span.SpanId), Does.Contain(process.ParentSpanId),
                "the worker's span descends from a span of the redirect's trace");
            Assert.That(redirect.TraceId, Is.EqualTo(trace));
        });
    }

    [Test]
    public async Task An_instance_configured_with_another_delivery_limit_uses_the_existing_queue_and_says_so()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/other-limit" })).GetProperty("code").GetString()!;
        await using (var otherLimit = Instance(("Shortlink:Role", "Api"), ("Shortlink:RabbitMq:DeliveryLimit", "7")))
        {
            using var visitor = otherLimit.CreateClient(new() { AllowAutoRedirect = false });
            (await visitor.GetAsync($"/{code}")).Dispose();
            await Eventually.TrueAsync(async () => await PrometheusText.SumAsync(visitor, "shortlink_visits_confirmed_total") == 1);
            Assert.That(otherLimit.Logs.Events.Select(e => e.RenderMessage()),
                Has.Some.Contains($"The queue {QueueName} exists with other arguments"));
        }
        await Eventually.TrueAsync(async () => await VisitsOfUrlsLikeAsync("https://example.com/other-limit") == 1);
    }

    [Test]
    public async Task A_worker_without_RabbitMQ_refuses_to_start()
    {
        await using var worker = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Ports.FreeLoopbackPort()}",
            ["Shortlink__Role"] = "Worker",
            ["Shortlink__Database__ConnectionString"] = ConnectionString,
            ["Shortlink__PublicBaseUrl"] = ShortlinkApp.PublicBaseUrl,
        });
        Assert.That(await worker.WaitForExitAsync(TimeSpan.FromSeconds(60)), Is.Not.Zero);
        Assert.That(string.Join('\n', worker.Output), Does.Contain("RabbitMq:ConnectionString"));
    }

    private static async Task RedirectInTraceAsync(HttpClient visitor, string code, ActivityTraceId trace)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/{code}");
        request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await visitor.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
    }

    private async Task<(Guid Id, Guid OwnerId)> LinkAsync(string code)
    {
        await using var connection = new MySqlConnection(ConnectionString);
        return await Dapper.SqlMapper.QuerySingleAsync<(Guid, Guid)>(connection, "SELECT id, owner_id FROM links WHERE code = @code", new { code });
    }
}
