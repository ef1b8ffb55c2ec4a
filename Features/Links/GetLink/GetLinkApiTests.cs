using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Links;

public sealed class GetLinkApiTests : ApiTestBase
{
    [Test]
    public async Task Get_returns_the_link()
    {
        var created = await CreateLinkAsync(new { url = "https://example.com/get", title = "Get me", tags = new[] { "x" } });
        var read = await Http.GetFromJsonAsync<JsonElement>($"/api/v1/links/{created.GetProperty("code").GetString()}");
        Assert.That(read.ToString(), Is.EqualTo(created.ToString()));
    }

    [TestCase("NoSuchCode")]
    [TestCase("bad%20code")]
    [TestCase("x%27%20OR%201%3D1")]
    public async Task Get_of_an_unknown_code_returns_404(string code)
    {
        using var response = await Http.GetAsync($"/api/v1/links/{code}");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, "urn:shortlink:problem:link-not-found");
    }
}
