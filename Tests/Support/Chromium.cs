using Microsoft.Playwright;
using NUnit.Framework;

namespace Shortlink.Tests.Support;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright through ExecutablePath: Playwright's own browser download cannot
/// work here. ops/test and .ci/run install the chromium package; SHORTLINK_TEST_CHROMIUM names another binary.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    private readonly IPlaywright playwright;

    private Chromium(IPlaywright playwright, IBrowser browser)
    {
        this.playwright = playwright;
        Browser = browser;
    }

    public IBrowser Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("SHORTLINK_TEST_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        Assert.That(File.Exists(chromium), Is.True, $"no Chromium at {chromium}: ops/test installs Debian's chromium package");
        var playwright = await Playwright.CreateAsync();
        // Root in a container has no user namespaces for Chromium's sandbox; the pages opened are the service's own.
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });
        return new Chromium(playwright, browser);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright.Dispose();
    }
}
