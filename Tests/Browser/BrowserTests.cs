using Microsoft.Playwright;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Browser;

/// <summary>
/// The service's pages in a real browser (Debian's Chromium, driven by Playwright): the password form works
/// under its Content-Security-Policy and leaves by GET, the pages' stylesheet applies, Swagger UI renders under
/// its own policy, and no page trips the policy anywhere. ops/test installs Chromium.
/// </summary>
public sealed class BrowserTests : ApiTestBase
{
    private const string Target = "https://target.example";

    private Chromium chromium = null!;

    [OneTimeSetUp]
    public async Task LaunchChromium() => chromium = await Chromium.LaunchAsync();

    [OneTimeTearDown]
    public async Task CloseChromium() => await chromium.DisposeAsync();

    /// <summary>A page whose console is watched for policy violations, with the link targets answered by the test.</summary>
    private async Task<(IPage Page, List<string> Violations, List<IRequest> Landings)> OpenAsync()
    {
        var context = await chromium.Browser.NewContextAsync(new() { BaseURL = Http.BaseAddress!.ToString() });
        var page = await context.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                violations.Add(message.Text);
            }
        };
        var landings = new List<IRequest>();
        await page.RouteAsync($"{Target}/**", async route =>
        {
            landings.Add(route.Request);
            await route.FulfillAsync(new() { Status = 200, ContentType = "text/html", Body = "<h1>Landed</h1>" });
        });
        return (page, violations, landings);
    }

    [Test]
    public async Task A_visitor_unlocks_a_link_through_the_form_and_arrives_by_get_with_the_query()
    {
        var code = (await CreateLinkAsync(new { url = $"{Target}/landing?ref=1", password = "open sesame", redirectType = 307 }))
            .GetProperty("code").GetString();
        var (page, violations, landings) = await OpenAsync();
        await page.GotoAsync($"/{code}?utm=mail");
        await page.GetByLabel("Password").FillAsync("wrong guess");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.GetByRole(AriaRole.Alert).WaitForAsync();
        var afterWrong = landings.Count;
        await page.GetByLabel("Password").FillAsync("open sesame");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Landed" }).WaitForAsync();
        Assert.Multiple(() =>
        {
            Assert.That(afterWrong, Is.Zero);
            Assert.That(page.Url, Is.EqualTo($"{Target}/landing?ref=1&utm=mail"));
            Assert.That(landings.Select(request => request.Method), Is.EqualTo(new[] { "GET" }), "the password is not posted on to the target");
            Assert.That(landings[0].PostData, Is.Null);
            Assert.That(violations, Is.Empty);
        });
    }

    [Test]
    public async Task The_pages_stylesheet_applies_under_their_policy()
    {
        var (page, violations, _) = await OpenAsync();
        await page.GotoAsync("/no-such-link");
        var maxWidth = await page.EvaluateAsync<string>("getComputedStyle(document.body).maxWidth");
        Assert.Multiple(() =>
        {
            Assert.That(maxWidth, Is.EqualTo("512px"), "32rem from the page's own stylesheet");
            Assert.That(violations, Is.Empty);
        });
    }

    [Test]
    public async Task Swagger_ui_renders_every_operation_under_its_policy()
    {
        var (page, violations, _) = await OpenAsync();
        await page.GotoAsync("/swagger/index.html");
        // Tags start collapsed; opening each renders its operations, which the document had to be fetched for.
        await page.Locator(".opblock-tag").First.WaitForAsync();
        foreach (var tag in await page.Locator(".opblock-tag").AllAsync())
        {
            await tag.ClickAsync();
        }
        await page.Locator(".opblock").First.WaitForAsync();
        var operations = await page.Locator(".opblock").CountAsync();
        var contract = await Contract.LoadAsync(Http);
        Assert.Multiple(() =>
        {
            Assert.That(operations, Is.EqualTo(contract.Operations.Count));
            Assert.That(violations, Is.Empty);
        });
    }
}
