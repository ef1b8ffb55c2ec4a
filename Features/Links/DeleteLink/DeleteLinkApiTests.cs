using System.Net;
using System.Net.Http.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class DeleteLinkApiTests : ApiTestBase
{
    [Test]
    public async Task Delete_returns_204_and_the_code_then_answers_404_everywhere()
    {
        await CreateLinkAsync(new { url = "https://example.com/gone", slug = "to-delete" });
        using var deleted = await Http.DeleteAsync("/api/v1/links/to-delete");
        using var get = await Http.GetAsync("/api/v1/links/to-delete");
        using var redirect = await Http.GetAsync("/to-delete");
        using var qr = await Http.GetAsync("/api/v1/links/to-delete/qr");
        using var patch = await Http.PatchAsJsonAsync("/api/v1/links/to-delete", new { title = "x" });
        using var again = await Http.DeleteAsync("/api/v1/links/to-delete");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        foreach (var response in new[] { get, redirect, qr, patch, again })
        {
            await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
        }
    }

    [Test]
    public async Task A_deleted_code_is_never_handed_out_again()
    {
        await CreateLinkAsync(new { url = "https://example.com/old", slug = "retired" });
        (await Http.DeleteAsync("/api/v1/links/retired")).Dispose();
        using var reuse = await Http.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/new", slug = "retired" });
        await AssertProblemAsync(reuse, HttpStatusCode.Conflict, "urn:shortlink:problem:slug-taken");
    }

    [Test]
    public async Task Deleted_links_leave_listings()
    {
        await CreateLinkAsync(new { url = "https://example.com/listed", slug = "unlisted-soon", tags = new[] { "deltest" } });
        await CreateLinkAsync(new { url = "https://example.com/stays", slug = "still-listed", tags = new[] { "deltest" } });
        (await Http.DeleteAsync("/api/v1/links/unlisted-soon")).Dispose();
        var page = await Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/links?tag=deltest");
        Assert.That(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()),
            Is.EqualTo(new[] { "still-listed" }));
    }
}
