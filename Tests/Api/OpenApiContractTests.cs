using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Shortlink.Tests.Client;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// The API contract is Contract/openapi.v1.json, reviewed like code. The live document must equal
/// it, and the client generated from it must drive the service. Run with UPDATE_CONTRACT=1 to
/// rewrite the file after an intended change, then review the diff.
/// </summary>
public sealed class OpenApiContractTests : ApiTestBase
{
    private static string ContractPath =>
        Path.GetFullPath(Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../Contract/openapi.v1.json"));

    [Test]
    public async Task The_live_document_equals_the_committed_contract()
    {
        var live = JsonNode.Parse(await Http.GetStringAsync("/openapi/v1.json"))!;
        var indented = live.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("UPDATE_CONTRACT") == "1")
        {
            await File.WriteAllTextAsync(ContractPath, indented);
        }
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(ContractPath))!;
        Assert.That(JsonNode.DeepEquals(live, committed), Is.True,
            "The OpenAPI document changed: run the tests with UPDATE_CONTRACT=1 and review Tests/Contract/openapi.v1.json.");
    }

    [Test]
    public async Task The_document_is_valid_openapi()
    {
        var document = new Microsoft.OpenApi.Readers.OpenApiStringReader().Read(
            await Http.GetStringAsync("/openapi/v1.json"), out var diagnostic);
        Assert.Multiple(() =>
        {
            Assert.That(diagnostic.Errors, Is.Empty, string.Join('\n', diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
            Assert.That(diagnostic.SpecificationVersion, Is.EqualTo(Microsoft.OpenApi.OpenApiSpecVersion.OpenApi3_0));
            Assert.That(document.Paths.Keys, Is.SupersetOf(new[] { "/api/v1/links", "/api/v1/links/{code}", "/{code}" }));
        });
    }

    [Test]
    public async Task Every_operation_documents_its_problem_responses_with_examples()
    {
        var document = JsonNode.Parse(await Http.GetStringAsync("/openapi/v1.json"))!;
        foreach (var (path, operations) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in operations!.AsObject())
            {
                var responses = operation!["responses"]!.AsObject();
                Assert.That(responses.Select(r => r.Key), Has.Some.StartsWith("2").Or.Some.StartsWith("3"), $"{method} {path}");
                foreach (var (status, response) in responses.Where(r => r.Key.StartsWith('4')))
                {
                    var problem = response!["content"]?["application/problem+json"];
                    Assert.That(problem?["example"]?["type"]?.GetValue<string>(), Does.StartWith("urn:shortlink:problem:"), $"{method} {path} {status}");
                }
            }
        }
    }

    [Test]
    public async Task Swagger_ui_is_served()
    {
        using var response = await Http.GetAsync("/swagger/index.html");
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("swagger"));
        });
    }

    [Test]
    public async Task The_generated_client_creates_reads_lists_updates_and_deletes_a_link()
    {
        var created = await Api.CreateLinkAsync(null, new CreateLinkRequest
        {
            Url = "https://example.com/generated",
            Slug = "generated-client",
            Title = "From the contract",
            Tags = ["contract"],
            MaxVisits = 5,
            RedirectType = 307,
        });
        var read = await Api.GetLinkAsync("generated-client");
        var page = await Api.ListLinksAsync(10, null, "contract", null);
        var updated = await Api.UpdateLinkAsync("generated-client", new UpdateLinkRequest { Url = "https://example.com/changed" });
        var bulk = await Api.CreateLinksBulkAsync(null, new CreateLinksBulkRequest
        {
            Items = [new CreateLinkRequest { Url = "https://example.com/b1" }, new CreateLinkRequest { Url = "nope" }],
        });
        var qr = await Api.GetLinkQrCodeAsync("generated-client", "svg", 128);
        await Api.DeleteLinkAsync("generated-client");
        var missing = Assert.ThrowsAsync<ApiException<ProblemDetails>>(() => Api.GetLinkAsync("generated-client"));
        var conflict = Assert.ThrowsAsync<ApiException<ProblemDetails>>(() =>
            Api.CreateLinkAsync(null, new CreateLinkRequest { Url = "https://example.com/again", Slug = "generated-client" }));

        Assert.Multiple(() =>
        {
            Assert.That(created.Code, Is.EqualTo("generated-client"));
            Assert.That(created.ShortUrl, Is.EqualTo($"{ShortlinkApp.PublicBaseUrl}/generated-client"));
            Assert.That(read.Title, Is.EqualTo("From the contract"));
            Assert.That(read.RedirectType, Is.EqualTo(307));
            Assert.That(page.Items.Select(l => l.Code), Is.EqualTo(new[] { "generated-client" }));
            Assert.That(updated.Url, Is.EqualTo("https://example.com/changed"));
            Assert.That(updated.Title, Is.EqualTo("From the contract"));
            Assert.That(bulk.Created, Is.EqualTo(1));
            Assert.That(bulk.Items.Last().Problem?.Errors?.Keys, Is.EqualTo(new[] { "url" }));
            Assert.That(qr.StatusCode, Is.EqualTo(200));
            Assert.That(missing?.StatusCode, Is.EqualTo(404));
            Assert.That(missing?.Result.Type, Is.EqualTo("urn:shortlink:problem:link-not-found"));
            Assert.That(conflict?.StatusCode, Is.EqualTo(409));
        });
        qr.Dispose();
    }
}
