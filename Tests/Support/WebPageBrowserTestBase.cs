using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using NUnit.Framework;

namespace Shortlink.Tests.Support;

/// <summary>
/// The web page in headless Chromium against this fixture's service. Every flow ends with what a person would
/// notice: a screenshot kept with the test results, an axe-core check with no serious or critical violation, and a
/// console without errors (the browser's own line for an API refusal the flow provoked on purpose excepted).
/// </summary>
public abstract partial class WebPageBrowserTestBase : ApiTestBase
{
    private Chromium chromium = null!;
    private readonly List<IBrowserContext> contexts = [];
    private readonly List<string> consoleErrors = [];

    [OneTimeSetUp]
    public async Task LaunchChromium() => chromium = await Chromium.LaunchAsync();

    [OneTimeTearDown]
    public async Task CloseChromium() => await chromium.DisposeAsync();

    [SetUp]
    public void ForgetConsole() => consoleErrors.Clear();

    [TearDown]
    public async Task CloseContexts()
    {
        foreach (var context in contexts)
        {
            await context.CloseAsync();
        }
        contexts.Clear();
    }

    /// <summary>A fresh browser profile (no session storage, no cache) on the page at /.</summary>
    protected async Task<IPage> OpenPageAsync(BrowserNewContextOptions? options = null)
    {
        options ??= new BrowserNewContextOptions();
        options.BaseURL = Http.BaseAddress!.ToString();
        options.AcceptDownloads = true;
        var context = await chromium.Browser.NewContextAsync(options);
        contexts.Add(context);
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => consoleErrors.Add($"uncaught: {error}");
        await page.GotoAsync("/");
        return page;
    }

    protected static async Task SignInAsync(IPage page, string key)
    {
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByText("Signed in as").WaitForAsync();
    }

    protected static ILocator Section(IPage page, string heading) =>
        page.GetByRole(AriaRole.Region, new() { Name = heading });

    /// <summary>
    /// Saves a screenshot for review, then asserts the page passes axe-core with nothing serious or critical, that its
    /// console has no errors besides the browser's note of an API answer with one of the statuses the flow expected,
    /// and that no null or undefined found its way into the text.
    /// </summary>
    protected async Task AssertWellBehavedAsync(IPage page, string flow, params int[] expectedRefusals)
    {
        var results = Environment.GetEnvironmentVariable("SHORTLINK_TEST_RESULTS") is { Length: > 0 } kept ? kept : TestContext.CurrentContext.WorkDirectory;
        var directory = Path.Combine(results, "screenshots");
        Directory.CreateDirectory(directory);
        var screenshot = Path.Combine(directory, $"{GetType().Name}-{flow}.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        TestContext.AddTestAttachment(screenshot, flow);
        var axe = await page.RunAxe();
        var serious = axe.Violations
            .Where(violation => violation.Impact is "serious" or "critical")
            .Select(violation => $"{violation.Impact} {violation.Id}: {violation.Help} at {string.Join(", ", violation.Nodes.Select(node => node.Target))}")
            .ToList();
        var leaked = await page.EvaluateAsync<string[]>(@"document.body.innerText.match(/\b(null|undefined|NaN)\b|\[object Object\]/g) ?? []");
        var unexpected = consoleErrors
            .Where(error => RefusedResource().Match(error) is not { Success: true } match || !expectedRefusals.Contains(int.Parse(match.Groups[1].Value)))
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(serious, Is.Empty, "axe-core: serious or critical accessibility violations");
            Assert.That(unexpected, Is.Empty, "console errors");
            Assert.That(leaked, Is.Empty, "a value the page failed to turn into words");
        });
    }

    [GeneratedRegex(@"^Failed to load resource: the server responded with a status of (\d{3})")]
    private static partial Regex RefusedResource();
}
