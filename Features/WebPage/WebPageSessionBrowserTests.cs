using System.Text.RegularExpressions;
using Microsoft.Playwright;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.WebPage;

/// <summary>A key that expires while its page is open: the next request ends the session and the page says why.</summary>
public sealed class WebPageExpiredKeyBrowserTests : WebPageBrowserTestBase
{
    [Test]
    public async Task A_key_that_expires_mid_session_signs_the_page_out_with_the_reason()
    {
        var key = await TestKeys.CreateAsync(Http, "member", expiresAt: App.Clock.GetUtcNow().AddHours(1));
        var page = await OpenPageAsync();
        await SignInAsync(page, key.Key);

        App.Clock.Advance(TimeSpan.FromHours(2));
        await Section(page, "Your links").GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();

        await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" }).WaitForAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(await page.GetByRole(AriaRole.Alert).TextContentAsync(),
                Is.EqualTo("Your API key was not accepted: The API key has expired. It may have expired or been revoked. Sign in with a valid key."));
            Assert.That(await page.GetByText("Signed in as").IsVisibleAsync(), Is.False);
            Assert.That(await page.GetByRole(AriaRole.Region, new() { Name = "Your links" }).IsVisibleAsync(), Is.False);
            Assert.That(await page.EvaluateAsync<string?>("sessionStorage.getItem('shortlink.apiKey')"), Is.Null, "the refused key is forgotten");
        });
        await AssertWellBehavedAsync(page, "expired-key", 401);
    }
}

/// <summary>A used-up quota: the page says so, and when to try again, from the answer's Retry-After.</summary>
public sealed partial class WebPageQuotaBrowserTests : WebPageBrowserTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Shortlink:RateLimits:ApiRequestsPerKeyPerMinute"] = "3",
    };

    [Test]
    public async Task A_used_up_quota_is_explained_with_when_to_try_again()
    {
        var key = await TestKeys.CreateAsync(Http, "member");
        var page = await OpenPageAsync();
        // Signing in spends two of the three requests (who the key is, its links); searching spends the rest. The bucket
        // gets a request back every 20 s, so a search may happen to find one: a person would click again.
        await SignInAsync(page, key.Key);
        var search = Section(page, "Your links").GetByRole(AriaRole.Button, new() { Name = "Search" });
        var notice = page.GetByRole(AriaRole.Alert);
        for (var clicks = 0; clicks < 10 && !await notice.IsVisibleAsync(); clicks++)
        {
            await search.ClickAsync();
            await Assertions.Expect(search).ToBeEnabledAsync();
        }
        Assert.Multiple(async () =>
        {
            Assert.That(await notice.TextContentAsync(), Does.Match(TooManyRequests()));
            Assert.That(await page.GetByText("Signed in as").IsVisibleAsync(), Is.True, "a used-up quota does not end the session");
        });
        await AssertWellBehavedAsync(page, "quota", 429);
    }

    [GeneratedRegex(@"^Too many requests: the service's quota is used up for now\. Try again in \d+ seconds?\.$")]
    private static partial Regex TooManyRequests();
}
