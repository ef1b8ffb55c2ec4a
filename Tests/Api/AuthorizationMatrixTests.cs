using System.Net.Http.Headers;
using System.Text;
using Dapper;
using MySqlConnector;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// Every operation of the OpenAPI document × every kind of caller answers the documented status, and a
/// call that is refused changes no row. The operations come from the document, so an endpoint added
/// without a rule here fails the test.
/// </summary>
public sealed class AuthorizationMatrixTests : ApiTestBase
{
    private enum Caller { None, Malformed, Unknown, Revoked, Expired, Admin, MemberOwner, MemberOther, ReadOnly }

    private const int Unauthorized = 401;

    /// <summary>The status each caller with a valid key gets; the five without one always get 401.</summary>
    private static readonly Dictionary<string, (int Admin, int MemberOwner, int MemberOther, int ReadOnly)> Rules = new()
    {
        ["POST /api/v1/links"] = (201, 201, 201, 403),
        ["POST /api/v1/links/bulk"] = (200, 200, 200, 403),
        ["GET /api/v1/links"] = (200, 200, 200, 200),
        // Another owner's link is as absent as a link that does not exist: 404, never 403.
        ["GET /api/v1/links/{code}"] = (200, 200, 404, 200),
        ["PATCH /api/v1/links/{code}"] = (200, 200, 404, 403),
        ["DELETE /api/v1/links/{code}"] = (204, 204, 404, 403),
        ["GET /api/v1/links/{code}/qr"] = (200, 200, 404, 200),
        ["GET /api/v1/links/{code}/stats"] = (200, 200, 404, 200),
        ["GET /api/v1/links/{code}/visits"] = (200, 200, 404, 200),
        ["GET /api/v1/stats"] = (200, 200, 200, 200),
        ["POST /api/v1/keys"] = (201, 403, 403, 403),
        ["GET /api/v1/keys"] = (200, 403, 403, 403),
        ["GET /api/v1/keys/me"] = (200, 200, 200, 200),
        ["GET /api/v1/keys/{id}"] = (200, 403, 403, 403),
        ["DELETE /api/v1/keys/{id}"] = (204, 403, 403, 403),
        ["GET /api/v1/blocklist"] = (200, 403, 403, 403),
        ["PUT /api/v1/blocklist/{domain}"] = (201, 403, 403, 403),
        ["DELETE /api/v1/blocklist/{domain}"] = (204, 403, 403, 403),
    };

    /// <summary>Public operations: everyone, with a key or without, gets the same answer.</summary>
    private static readonly Dictionary<string, int> Public = new()
    {
        ["GET /{code}"] = 302,
        ["HEAD /{code}"] = 302,
        // The password form's post: without the form's anti-forgery token nobody gets further, key or not.
        ["POST /{code}"] = 400,
    };

    private Dictionary<Caller, string?> keys = null!;
    private TestKeys.Created memberOwner = null!;

    [OneTimeSetUp]
    public async Task CreateCallers()
    {
        memberOwner = await TestKeys.CreateAsync(Http, "member");
        var readOnly = await TestKeys.CreateAsync(Http, "readonly", memberOwner.OwnerId);
        var memberOther = await TestKeys.CreateAsync(Http, "member");
        var revoked = await TestKeys.CreateAsync(Http, "member");
        (await Http.DeleteAsync($"/api/v1/keys/{revoked.Id}")).Dispose();
        var expired = await TestKeys.CreateAsync(Http, "member", expiresAt: App.Clock.GetUtcNow().AddMinutes(1));
        App.Clock.Advance(TimeSpan.FromMinutes(2));
        keys = new Dictionary<Caller, string?>
        {
            [Caller.None] = null,
            [Caller.Malformed] = "not-a-key",
            [Caller.Unknown] = "sl_live_" + new string('u', 43),
            [Caller.Revoked] = revoked.Key,
            [Caller.Expired] = expired.Key,
            [Caller.Admin] = TestKeys.Admin,
            [Caller.MemberOwner] = memberOwner.Key,
            [Caller.MemberOther] = memberOther.Key,
            [Caller.ReadOnly] = readOnly.Key,
        };
    }

    [Test]
    public async Task Every_operation_answers_every_caller_as_documented_and_refusals_change_nothing()
    {
        var contract = await Contract.LoadAsync(Http);
        using var client = NewClient(key: null);
        var failures = new List<string>();
        foreach (var operation in contract.Operations)
        {
            if (!Rules.ContainsKey(operation) && !Public.ContainsKey(operation))
            {
                failures.Add($"{operation}: no rule in this test; say who may call it");
                continue;
            }
            foreach (var caller in Enum.GetValues<Caller>())
            {
                var expected = Expected(operation, caller);
                using var request = await RequestAsync(operation);
                if (keys[caller] is { } key)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                }
                var before = await RowsAsync();
                using var response = await client.SendAsync(request);
                var after = await RowsAsync();
                if ((int)response.StatusCode != expected)
                {
                    failures.Add($"{operation} as {caller}: {(int)response.StatusCode}, expected {expected}: " +
                                 await response.Content.ReadAsStringAsync());
                }
                if (expected >= 400 && after != before)
                {
                    failures.Add($"{operation} as {caller} was refused but changed rows: {before} -> {after}");
                }
            }
        }
        Assert.That(failures, Is.Empty, string.Join('\n', failures));
    }

    private static int Expected(string operation, Caller caller)
    {
        if (Public.TryGetValue(operation, out var everyone))
        {
            return everyone;
        }
        var rule = Rules[operation];
        return caller switch
        {
            Caller.Admin => rule.Admin,
            Caller.MemberOwner => rule.MemberOwner,
            Caller.MemberOther => rule.MemberOther,
            Caller.ReadOnly => rule.ReadOnly,
            _ => Unauthorized,
        };
    }

    /// <summary>A request for the operation, on a target of its own where a call would use it up.</summary>
    private async Task<HttpRequestMessage> RequestAsync(string operation)
    {
        var (method, template) = (operation[..operation.IndexOf(' ')], operation[(operation.IndexOf(' ') + 1)..]);
        string? body = null;
        var path = template;
        if (template.Contains("{code}", StringComparison.Ordinal))
        {
            path = template.Replace("{code}", await LinkOfMemberOwnerAsync(), StringComparison.Ordinal);
        }
        if (template.Contains("{id}", StringComparison.Ordinal))
        {
            path = template.Replace("{id}", (await TestKeys.CreateAsync(Http, "member", memberOwner.OwnerId)).Id.ToString(), StringComparison.Ordinal);
        }
        if (template.Contains("{domain}", StringComparison.Ordinal))
        {
            path = template.Replace("{domain}", await DomainToUnblockAsync(method), StringComparison.Ordinal);
        }
        body = operation switch
        {
            "POST /api/v1/links" => """{"url":"https://example.com/matrix"}""",
            "POST /api/v1/links/bulk" => """{"items":[{"url":"https://example.com/matrix"}]}""",
            "PATCH /api/v1/links/{code}" => """{"title":"changed by the matrix"}""",
            "POST /api/v1/keys" => """{"name":"matrix","role":"member"}""",
            _ => body,
        };
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        if (operation == "POST /{code}")
        {
            request.Content = new FormUrlEncodedContent([new("password", "matrix")]);
        }
        return request;
    }

    private async Task<string> LinkOfMemberOwnerAsync()
    {
        using var owner = NewClient(memberOwner.Key);
        using var response = await owner.PostAsync("/api/v1/links",
            new StringContent("""{"url":"https://example.com/owned"}""", Encoding.UTF8, "application/json"));
        return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString()!;
    }

    /// <summary>A domain nobody has blocked yet for PUT; one freshly blocked for DELETE to lift.</summary>
    private async Task<string> DomainToUnblockAsync(string method)
    {
        var domain = $"matrix-{Guid.NewGuid():N}.example";
        if (method == "DELETE")
        {
            (await Http.PutAsync($"/api/v1/blocklist/{domain}", null)).Dispose();
        }
        return domain;
    }

    /// <summary>What a refused call must not change: links (and their contents), keys, owners, idempotency records, the blocklist.</summary>
    private async Task<string> RowsAsync()
    {
        const string sql = """
            SELECT CONCAT_WS('/',
                (SELECT COUNT(*) FROM links),
                (SELECT COALESCE(SUM(CRC32(CONCAT_WS('|', code, url, COALESCE(title, ''), updated_at, COALESCE(deleted_at, '')))), 0) FROM links),
                (SELECT COUNT(*) FROM link_tags),
                (SELECT COUNT(*) FROM api_keys),
                (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NOT NULL),
                (SELECT COUNT(*) FROM owners),
                (SELECT COUNT(*) FROM idempotency_records),
                (SELECT COUNT(*) FROM blocked_domains))
            """;
        await using var connection = new MySqlConnection(ConnectionString);
        return await connection.ExecuteScalarAsync<string>(sql) ?? "";
    }
}
