using System.Net;
using System.Text.RegularExpressions;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Analytics;

/// <summary>What happens to visits the writer cannot take at once: a full buffer drops and counts them, a stopping instance writes them.</summary>
public sealed class VisitBufferApiTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Shortlink:Visits:Enabled"] = "true" };

    private async Task<string> NewCodeAsync(string url) => (await CreateLinkAsync(new { url })).GetProperty("code").GetString()!;

    private Task<long> VisitsOfAsync(string code) => QueryScalarAsync<long>(
        "SELECT COUNT(*) FROM visits v JOIN links l ON l.id = v.link_id WHERE l.code = @code", new { code });

    [Test]
    public async Task A_full_buffer_drops_visits_counts_each_one_and_logs_the_burst_once()
    {
        var settings = new Dictionary<string, string?>(ServiceSettings)
        {
            ["Shortlink:Visits:BufferCapacity"] = "1000",
            ["Shortlink:Visits:BatchSize"] = "100",
            ["Shortlink:Visits:Writers"] = "2",
            // The burst's end is an Information line; the suite logs from Warning up.
            ["Serilog:MinimumLevel:Override:Shortlink.Features.Analytics"] = "Information",
        };
        await using var app = new ShortlinkApp(ConnectionString, settings);
        using var visitor = app.CreateClient(new() { AllowAutoRedirect = false });
        var code = await NewCodeAsync("https://example.com/flood");
        const int sent = 1_500;
        // The writer's first batch waits on the lock, and the buffer behind it fills up.
        await using (var locker = new MySqlConnection(ConnectionString))
        {
            await locker.OpenAsync();
            await using (var command = new MySqlCommand("LOCK TABLES visits WRITE", locker))
            {
                await command.ExecuteNonQueryAsync();
            }
            for (var i = 0; i < sent; i++)
            {
                using var response = await visitor.GetAsync($"/{code}");
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found), "a full buffer never slows or fails the redirect");
            }
            await using var unlock = new MySqlCommand("UNLOCK TABLES", locker);
            await unlock.ExecuteNonQueryAsync();
        }
        var dropped = await DroppedAsync(visitor, "buffer-full");
        Assert.That(dropped, Is.InRange(sent - 1_000 - 2 * 100, sent - 1_000 - 1), "the buffer's 1,000 and a batch per writer are kept");
        await Eventually.TrueAsync(async () => await VisitsOfAsync(code) == sent - dropped, TimeSpan.FromSeconds(20));
        // The first visit the buffer takes again ends the burst, with its count.
        (await visitor.GetAsync($"/{code}")).Dispose();
        var lines = app.Logs.Events.Select(e => e.RenderMessage()).Where(line => line.StartsWith("Visits are", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(lines.Count(line => line.StartsWith("Visits are being dropped", StringComparison.Ordinal)), Is.EqualTo(1),
                "one line for the burst, not one per visit");
            Assert.That(lines, Has.One.StartsWith($"Visits are recorded again; {dropped} were dropped"), string.Join('\n', lines));
        });
    }

    [Test]
    public async Task A_batch_the_database_refuses_for_good_is_dropped_and_counted_and_the_writer_goes_on()
    {
        var settings = new Dictionary<string, string?>(ServiceSettings) { ["Shortlink:Visits:Region"] = "refused" };
        await using var app = new ShortlinkApp(ConnectionString, settings);
        using var visitor = app.CreateClient(new() { AllowAutoRedirect = false });
        var code = await NewCodeAsync("https://example.com/refused");
        await ExecuteAsync("ALTER TABLE visits ADD CONSTRAINT ck_no_refused CHECK (region <> 'refused')");
        try
        {
            (await visitor.GetAsync($"/{code}")).Dispose();
            await Eventually.TrueAsync(async () => await DroppedAsync(visitor, "write-failed") == 1, TimeSpan.FromSeconds(10));
        }
        finally
        {
            await ExecuteAsync("ALTER TABLE visits DROP CONSTRAINT ck_no_refused");
        }
        using (var response = await visitor.GetAsync($"/{code}"))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found), "the instance is still up");
        }
        await Eventually.TrueAsync(async () => await VisitsOfAsync(code) == 1, TimeSpan.FromSeconds(10));
        Assert.That(app.Logs.Events.Count(e => e.Level == Serilog.Events.LogEventLevel.Error), Is.EqualTo(1));
    }

    [Test]
    public async Task A_batch_waiting_on_a_lock_does_not_hold_up_the_visits_behind_it()
    {
        await using var app = new ShortlinkApp(ConnectionString, new Dictionary<string, string?>(ServiceSettings)
        {
            ["Shortlink:Visits:Writers"] = "2",
        });
        using var visitor = app.CreateClient(new() { AllowAutoRedirect = false });
        var held = await NewCodeAsync("https://example.com/behind-a-lock");
        var free = await NewCodeAsync("https://example.com/not-behind-a-lock");
        await using (var rollups = await HeldRollups.HoldAsync(ConnectionString, (await TestVisits.LinkAsync(ConnectionString, held)).Id))
        {
            (await visitor.GetAsync($"/{held}")).Dispose();
            await rollups.WaitUntilAWriterWaitsAsync();
            (await visitor.GetAsync($"/{free}")).Dispose();
            await Eventually.TrueAsync(async () => await VisitsOfAsync(free) == 1, TimeSpan.FromSeconds(10));
            Assert.That(await VisitsOfAsync(held), Is.Zero, "its batch is still waiting");
        }
        await Eventually.TrueAsync(async () => await VisitsOfAsync(held) == 1);
    }

    [Test]
    public async Task A_stopping_instance_writes_the_visits_it_holds()
    {
        var code = await NewCodeAsync("https://example.com/until-the-end");
        const int sent = 3_000;
        var app = new ShortlinkApp(ConnectionString, ServiceSettings);
        await using (app)
        {
            using var visitor = app.CreateClient(new() { AllowAutoRedirect = false });
            await Parallel.ForEachAsync(Enumerable.Range(0, sent), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, ct) =>
            {
                using var response = await visitor.GetAsync($"/{code}", ct);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            });
        }
        Assert.That(await VisitsOfAsync(code), Is.EqualTo(sent), "stopped at once after the last visit, and nothing was lost");
    }

    private static async Task<long> DroppedAsync(HttpClient client, string reason) =>
        (long)await PrometheusText.SumAsync(client, "shortlink_visits_dropped_total", $"reason=\"{reason}\"");
}
