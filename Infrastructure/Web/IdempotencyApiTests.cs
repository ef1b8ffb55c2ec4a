using System.Net;
using System.Text;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure.Web;

/// <summary>Idempotency-Key when things go wrong: clients that give up, processes that die, paths written differently.</summary>
public sealed class IdempotencyApiTests : ApiTestBase
{
    private async Task<HttpResponseMessage> PostWithKeyAsync(string path, string key, string json, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        return await Http.SendAsync(request, ct);
    }

    [Test]
    public async Task A_client_that_aborts_after_the_commit_gets_the_kept_response_when_it_retries()
    {
        const string json = """{"url":"https://example.com/aborted-after-commit"}""";
        // Keeping the response is slowed down here, so that the client can give up after the link was
        // committed and before its response is kept: the moment a retry used to create a second link.
        await ExecuteAsync("CREATE TRIGGER slow_keep BEFORE UPDATE ON idempotency_records FOR EACH ROW DO SLEEP(2)");
        try
        {
            using var abort = new CancellationTokenSource();
            var first = PostWithKeyAsync("/api/v1/links", "abort-after-commit", json, abort.Token);
            await Eventually.TrueAsync(async () =>
                await QueryScalarAsync<long>("SELECT COUNT(*) FROM links WHERE url = 'https://example.com/aborted-after-commit'") == 1);
            await abort.CancelAsync();
            Assert.CatchAsync<OperationCanceledException>(() => first);

            var retry = await Eventually.ValueAsync(
                () => PostWithKeyAsync("/api/v1/links", "abort-after-commit", json),
                response => response.StatusCode != HttpStatusCode.Conflict);
            Assert.Multiple(async () =>
            {
                Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Created), await retry.Content.ReadAsStringAsync());
                Assert.That(retry.Headers.Contains("Idempotent-Replayed"), Is.True);
                Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links WHERE url = 'https://example.com/aborted-after-commit'"),
                    Is.EqualTo(1));
            });
            retry.Dispose();
        }
        finally
        {
            await ExecuteAsync("DROP TRIGGER IF EXISTS slow_keep");
        }
    }

    [TestCase("/api/v1/links/")]
    [TestCase("/API/V1/LINKS")]
    [TestCase("/Api/v1/Links/")]
    public async Task The_same_request_on_an_equivalent_path_is_replayed(string equivalentPath)
    {
        var key = $"equivalent-{Guid.NewGuid():N}";
        const string json = """{"url":"https://example.com/equivalent"}""";
        using var first = await PostWithKeyAsync("/api/v1/links", key, json);
        using var second = await PostWithKeyAsync(equivalentPath, key, json);
        Assert.Multiple(async () =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Created), await second.Content.ReadAsStringAsync());
            Assert.That(second.Headers.Contains("Idempotent-Replayed"), Is.True);
            Assert.That(await second.Content.ReadAsStringAsync(), Is.EqualTo(await first.Content.ReadAsStringAsync()));
        });
    }

    [Test]
    public async Task The_same_key_on_another_endpoint_is_another_request()
    {
        using var single = await PostWithKeyAsync("/api/v1/links", "one-key-two-endpoints", """{"url":"https://example.com/one"}""");
        using var bulk = await PostWithKeyAsync("/api/v1/links/bulk", "one-key-two-endpoints", """{"items":[{"url":"https://example.com/one"}]}""");
        Assert.That(single.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        await AssertProblemAsync(bulk, HttpStatusCode.UnprocessableEntity, "urn:shortlink:problem:idempotency-key-reused");
    }
}

/// <summary>A key reserved by a process that died mid-request: 409 while its lease runs, free afterwards.</summary>
public sealed class IdempotencyLeaseApiTests : ApiTestBase
{
    [Test]
    public async Task A_key_held_by_a_process_that_died_is_free_again_after_its_lease()
    {
        const string json = """{"url":"https://example.com/lease","slug":"lease-slug"}""";
        // This test holds the slug's row uncommitted, so the other process's create waits on its lock,
        // holding the key, until the process is killed.
        await using var blocker = new MySqlConnection(ConnectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var insert = new MySqlCommand("""
            INSERT INTO links (id, domain, code, owner_id, url, redirect_type, forward_query, created_at, updated_at)
            VALUES (UNHEX(REPLACE(UUID(), '-', '')), 'sho.rt', 'lease-slug', X'00000000000070008000000000000001',
                    'https://example.com/blocker', 302, 1, NOW(3), NOW(3))
            """, blocker, transaction))
        {
            await insert.ExecuteNonQueryAsync();
        }

        var port = Ports.FreeLoopbackPort();
        var other = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Shortlink__Database__ConnectionString"] = ConnectionString,
            ["Shortlink__PublicBaseUrl"] = ShortlinkApp.PublicBaseUrl,
        });
        using var otherHttp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        // The same admin key as this fixture's service: an Idempotency-Key is its owner's.
        TestKeys.Authorize(otherHttp, TestKeys.Admin);
        await ServiceProcess.WaitUntilReadyAsync(otherHttp, TimeSpan.FromSeconds(60));
        var heldRequest = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        heldRequest.Headers.Add("Idempotency-Key", "held-by-the-dead");
        var held = otherHttp.SendAsync(heldRequest);
        await Eventually.TrueAsync(async () =>
            await QueryScalarAsync<long>("SELECT COUNT(*) FROM idempotency_records WHERE status_code IS NULL") == 1);
        // Killed before its client lets go: an aborted request would give its key back, a dead process cannot.
        await other.DisposeAsync();
        Assert.CatchAsync<HttpRequestException>(() => held);
        await transaction.RollbackAsync();

        using var whileLeased = await SendAsync(json);
        App.Clock.SetUtcNow(DateTimeOffset.UtcNow + IdempotencyExtensions.Lease + TimeSpan.FromSeconds(5));
        using var afterLease = await SendAsync(json);
        await AssertProblemAsync(whileLeased, HttpStatusCode.Conflict, "urn:shortlink:problem:idempotency-key-in-use");
        Assert.Multiple(async () =>
        {
            Assert.That(afterLease.StatusCode, Is.EqualTo(HttpStatusCode.Created), await afterLease.Content.ReadAsStringAsync());
            Assert.That(await QueryScalarAsync<long>("SELECT COUNT(*) FROM links WHERE code = 'lease-slug'"), Is.EqualTo(1));
        });
    }

    private Task<HttpResponseMessage> SendAsync(string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "held-by-the-dead");
        return Http.SendAsync(request);
    }
}
