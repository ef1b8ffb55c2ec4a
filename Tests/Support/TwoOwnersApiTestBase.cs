using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;

namespace Shortlink.Tests.Support;

/// <summary>An integration fixture with two owners beside the admin: Alice and Bob, each with a member key.</summary>
public abstract class TwoOwnersApiTestBase : ApiTestBase
{
    protected HttpClient Alice { get; private set; } = null!;
    protected HttpClient Bob { get; private set; } = null!;
    protected Guid AliceOwnerId { get; private set; }

    [OneTimeSetUp]
    public async Task CreateOwnersAsync()
    {
        var alice = await TestKeys.CreateAsync(Http, "member");
        AliceOwnerId = alice.OwnerId;
        Alice = NewClient(alice.Key);
        Bob = NewClient((await TestKeys.CreateAsync(Http, "member")).Key);
    }

    /// <summary>A new link of the owner's, with the ids its visits carry.</summary>
    private protected async Task<TestVisits.Link> LinkOfAsync(HttpClient owner, string? slug = null)
    {
        using var response = await owner.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/visited", slug });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var code = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;
        return await TestVisits.LinkAsync(ConnectionString, code);
    }

    /// <summary>GETs a path that must answer 200 and returns its JSON.</summary>
    protected static async Task<JsonElement> OkJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>GETs a path whose query breaks a rule: a validation problem whose errors name the parameter.</summary>
    protected static async Task AssertRefusedParameterAsync(HttpClient client, string path, string parameter)
    {
        using var response = await client.GetAsync(path);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, "urn:shortlink:problem:validation-failed");
        Assert.That(problem.GetProperty("errors").TryGetProperty(parameter, out _), Is.True, problem.ToString());
    }

    [OneTimeTearDown]
    public void DisposeOwners()
    {
        Alice.Dispose();
        Bob.Dispose();
    }
}
