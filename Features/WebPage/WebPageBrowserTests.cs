using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.WebPage;

/// <summary>
/// The web page's flows in headless Chromium against a real service and database: signing in, shortening, copying,
/// QR codes, the list with search, paging, editing and deleting, and a link's clicks after real redirects.
/// </summary>
public sealed class WebPageBrowserTests : WebPageBrowserTestBase
{
    private TestKeys.Created member = null!;

    /// <summary>Visits recorded as in production: through RabbitMQ to the writer, links read through Redis.</summary>
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Shortlink:Visits:Enabled"] = "true" };

    protected override bool UsesRedis => true;

    protected override bool UsesRabbitMq => true;

    [OneTimeSetUp]
    public async Task CreateMemberKey() => member = await TestKeys.CreateAsync(Http, "member");

    private static ILocator Field(IPage page, string label) => page.GetByLabel(label, new() { Exact = true });

    /// <summary>Opens the form's options unless a previous link left them open.</summary>
    private static async Task OpenOptionsAsync(IPage page)
    {
        if (!await Field(page, "Custom slug").IsVisibleAsync())
        {
            await page.GetByText("Options", new() { Exact = true }).ClickAsync();
        }
    }

    [Test]
    public async Task A_bad_key_is_refused_next_to_its_field_and_a_good_one_says_who_is_signed_in_until_sign_out()
    {
        var page = await OpenPageAsync();
        await page.GetByLabel("API key").FillAsync(TestKeys.Fixed("NoSuchKey"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByText("This key was not accepted: The API key is not known.").WaitForAsync();
        Assert.That(await page.GetByLabel("API key").GetAttributeAsync("aria-invalid"), Is.EqualTo("true"));
        await AssertWellBehavedAsync(page, "bad-key", 401);

        await SignInAsync(page, member.Key);
        Assert.Multiple(async () =>
        {
            Assert.That(await page.GetByText("Signed in as member for a test (member)").IsVisibleAsync(), Is.True);
            Assert.That(await page.EvaluateAsync<string>("sessionStorage.getItem('shortlink.apiKey')"), Is.EqualTo(member.Key));
            Assert.That(await page.EvaluateAsync<string>("document.cookie"), Is.Empty, "the key is never a cookie");
            Assert.That(page.Url, Does.Not.Contain(member.Key), "the key is never in a URL");
        });
        await AssertWellBehavedAsync(page, "signed-in", 401);

        // Reloaded, the tab keeps its session; signed out, it forgets the key.
        await page.ReloadAsync();
        await page.GetByText("Signed in as member for a test (member)").WaitForAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" }).WaitForAsync();
        Assert.That(await page.EvaluateAsync<string?>("sessionStorage.getItem('shortlink.apiKey')"), Is.Null);
    }

    [Test]
    public async Task Shortening_shows_the_link_and_the_apis_messages_next_to_the_fields_they_concern()
    {
        var page = await OpenPageAsync();
        await SignInAsync(page, member.Key);
        var create = Section(page, "Shorten a link");

        await Field(page, "Long URL").FillAsync("not a url");
        await create.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        var urlError = page.Locator("#create-url-error");
        await urlError.WaitForAsync();
        Assert.That(await urlError.TextContentAsync(), Is.EqualTo("The URL must be absolute and start with http:// or https://."));
        Assert.That(await Field(page, "Long URL").GetAttributeAsync("aria-invalid"), Is.EqualTo("true"));
        await AssertWellBehavedAsync(page, "bad-url", 400);

        await Field(page, "Long URL").FillAsync("https://example.com/with-a-slug");
        await OpenOptionsAsync(page);
        await Field(page, "Custom slug").FillAsync("page-made");
        await Field(page, "Tags").FillAsync("web, launch");
        await Field(page, "Visit limit").FillAsync("5");
        await Field(page, "Redirect type").SelectOptionAsync("301");
        await create.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        await page.GetByText($"Your short link: {ShortlinkApp.PublicBaseUrl}/page-made").WaitForAsync();
        Assert.That(await page.Locator("#create-url-error").CountAsync(), Is.Zero, "the earlier message is gone");
        var made = await (await Http.GetAsync("/api/v1/links/page-made")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(made.GetProperty("tags").EnumerateArray().Select(tag => tag.GetString()), Is.EquivalentTo(new[] { "web", "launch" }));
            Assert.That(made.GetProperty("maxVisits").GetInt32(), Is.EqualTo(5));
            Assert.That(made.GetProperty("redirectType").GetInt32(), Is.EqualTo(301));
        });
        await AssertWellBehavedAsync(page, "created-with-slug", 400);

        await Field(page, "Long URL").FillAsync("https://example.com/again");
        await OpenOptionsAsync(page);
        await Field(page, "Custom slug").FillAsync("page-made");
        await create.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        var slugError = page.Locator("#create-slug-error");
        await slugError.WaitForAsync();
        Assert.That(await slugError.TextContentAsync(), Is.EqualTo("The slug 'page-made' is already in use or was used by a deleted link; choose another."));
        Assert.That(await Field(page, "Custom slug").EvaluateAsync<bool>("input => input === document.activeElement"), Is.True);
        await AssertWellBehavedAsync(page, "slug-taken", 400, 409);

        await Field(page, "Custom slug").FillAsync("");
        await create.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        await Assertions.Expect(page.Locator("#created-link")).ToHaveTextAsync(new Regex($"^{Regex.Escape(ShortlinkApp.PublicBaseUrl)}/[0-9A-Za-z]{{7}}$"));
        await AssertWellBehavedAsync(page, "created-without-slug", 400, 409);
    }

    [Test]
    public async Task Copy_puts_the_short_link_on_the_clipboard_and_the_qr_code_downloads_as_png_and_svg()
    {
        var page = await OpenPageAsync(new() { Permissions = ["clipboard-read", "clipboard-write"] });
        await SignInAsync(page, member.Key);
        await Field(page, "Long URL").FillAsync("https://example.com/copied");
        await page.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        await page.GetByRole(AriaRole.Img, new() { NameRegex = new("^QR code for ") }).WaitForAsync();
        var shortUrl = await page.Locator("#created-link").TextContentAsync();

        await Section(page, "Shorten a link").GetByRole(AriaRole.Button, new() { Name = "Copy", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Status).GetByText($"Copied {shortUrl}").WaitForAsync();
        Assert.That(await page.EvaluateAsync<string>("navigator.clipboard.readText()"), Is.EqualTo(shortUrl));

        var code = shortUrl![(ShortlinkApp.PublicBaseUrl.Length + 1)..];
        var png = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Button, new() { Name = "Download QR code (PNG)" }).ClickAsync());
        var svg = await page.RunAndWaitForDownloadAsync(() =>
            page.GetByRole(AriaRole.Button, new() { Name = "Download QR code (SVG)" }).ClickAsync());
        var pngBytes = await File.ReadAllBytesAsync((await png.PathAsync())!);
        var svgText = await File.ReadAllTextAsync((await svg.PathAsync())!);
        Assert.Multiple(() =>
        {
            Assert.That(png.SuggestedFilename, Is.EqualTo($"{code}.png"));
            Assert.That(pngBytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG signature");
            Assert.That(svg.SuggestedFilename, Is.EqualTo($"{code}.svg"));
            Assert.That(svgText, Does.Contain("<svg"));
        });
        await AssertWellBehavedAsync(page, "copied-and-qr");
    }

    [Test]
    public async Task Links_are_listed_newest_first_searched_paged_edited_and_deleted()
    {
        using var owner = NewClient(member.Key);
        for (var i = 1; i <= 23; i++)
        {
            using var created = await owner.PostAsJsonAsync("/api/v1/links",
                new { url = $"https://example.com/listed/{i}", slug = $"listed-{i:00}", tags = new[] { i % 2 == 0 ? "even" : "odd" } });
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }
        var page = await OpenPageAsync();
        await SignInAsync(page, member.Key);
        var links = Section(page, "Your links");
        var items = links.GetByRole(AriaRole.Listitem).Filter(new() { Has = page.GetByRole(AriaRole.Heading) });

        await links.GetByLabel("Search", new() { Exact = true }).FillAsync("listed");
        await links.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Assertions.Expect(items).ToHaveCountAsync(20);
        Assert.That(await items.First.GetByRole(AriaRole.Heading).TextContentAsync(), Is.EqualTo($"{ShortlinkApp.PublicBaseUrl}/listed-23"), "newest first");
        await links.GetByRole(AriaRole.Button, new() { Name = "More" }).ClickAsync();
        await Assertions.Expect(items).ToHaveCountAsync(23);
        Assert.That(await links.GetByRole(AriaRole.Button, new() { Name = "More" }).IsVisibleAsync(), Is.False, "nothing more to page to");
        Assert.That(await items.Last.GetByRole(AriaRole.Heading).TextContentAsync(), Is.EqualTo($"{ShortlinkApp.PublicBaseUrl}/listed-01"));
        await AssertWellBehavedAsync(page, "listed-and-paged");

        await links.GetByLabel("Search", new() { Exact = true }).FillAsync("listed/1");
        await links.GetByLabel("Tag", new() { Exact = true }).FillAsync("even");
        await links.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Assertions.Expect(items).ToHaveCountAsync(5);
        var listed12 = items.Filter(new() { HasText = "/listed-12" });

        await listed12.GetByRole(AriaRole.Button, new() { Name = "Edit listed-12" }).ClickAsync();
        await listed12.GetByLabel("Long URL", new() { Exact = true }).FillAsync("https://example.com/edited");
        await listed12.GetByLabel("Tags", new() { Exact = true }).FillAsync("even, edited");
        await listed12.GetByLabel("Expires", new() { Exact = true }).FillAsync("2099-01-02T03:04");
        await AssertWellBehavedAsync(page, "editing");
        await listed12.GetByRole(AriaRole.Button, new() { Name = "Save listed-12" }).ClickAsync();
        await listed12.GetByRole(AriaRole.Link, new() { Name = "https://example.com/edited" }).WaitForAsync();
        var edited = await (await owner.GetAsync("/api/v1/links/listed-12")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Multiple(() =>
        {
            Assert.That(edited.GetProperty("url").GetString(), Is.EqualTo("https://example.com/edited"));
            Assert.That(edited.GetProperty("tags").EnumerateArray().Select(tag => tag.GetString()), Is.EquivalentTo(new[] { "even", "edited" }));
            Assert.That(edited.GetProperty("expiresAt").GetDateTimeOffset().Year, Is.EqualTo(2099));
        });

        await listed12.GetByRole(AriaRole.Button, new() { Name = "Edit listed-12" }).ClickAsync();
        await listed12.GetByLabel("Long URL", new() { Exact = true }).FillAsync("ftp://example.com/nope");
        await listed12.GetByRole(AriaRole.Button, new() { Name = "Save listed-12" }).ClickAsync();
        await listed12.Locator(".error").WaitForAsync();
        Assert.That(await listed12.GetByLabel("Long URL", new() { Exact = true }).GetAttributeAsync("aria-invalid"), Is.EqualTo("true"));
        await listed12.GetByRole(AriaRole.Button, new() { Name = "Cancel editing listed-12" }).ClickAsync();

        var listed10 = items.Filter(new() { HasText = "/listed-10" });
        await listed10.GetByRole(AriaRole.Button, new() { Name = "Delete listed-10" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Delete this link?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        Assert.That(await listed10.CountAsync(), Is.EqualTo(1), "cancelled, the link stays");
        await listed10.GetByRole(AriaRole.Button, new() { Name = "Delete listed-10" }).ClickAsync();
        await AssertWellBehavedAsync(page, "confirm-delete", 400);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Assertions.Expect(listed10).ToHaveCountAsync(0);
        using var gone = await owner.GetAsync("/api/v1/links/listed-10");
        Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_links_clicks_after_real_redirects_match_the_api_and_download_as_csv()
    {
        using var owner = NewClient(member.Key);
        using var created = await owner.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/clicked", slug = "clicked" });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var visits = new (string Agent, string? Referrer)[]
        {
            (TestVisits.Chrome, "https://news.example.org/story"),
            (TestVisits.Chrome, "https://news.example.org/other"),
            (TestVisits.Firefox, null),
            (TestVisits.IPhone, "https://blog.example.com/"),
            (TestVisits.Googlebot, null),
        };
        foreach (var (agent, referrer) in visits)
        {
            using var visitor = NewClient(key: null);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/clicked");
            request.Headers.UserAgent.ParseAdd(agent);
            if (referrer is not null)
            {
                request.Headers.Referrer = new Uri(referrer);
            }
            using var redirect = await visitor.SendAsync(request);
            Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        }
        var tz = await StatsForPageAsync(owner, includeBots: true, accept: stats => stats.GetProperty("visits").GetInt64() == visits.Length);
        var humans = await StatsForPageAsync(owner, includeBots: false);

        var page = await OpenPageAsync(new() { TimezoneId = "Europe/Berlin" });
        await SignInAsync(page, member.Key);
        await Section(page, "Your links").GetByRole(AriaRole.Button, new() { Name = "Clicks clicked" }).ClickAsync();
        var stats = Section(page, $"Clicks on {ShortlinkApp.PublicBaseUrl}/clicked");
        await Assertions.Expect(stats.Locator("#stats-visits")).ToHaveTextAsync(humans.GetProperty("visits").GetInt64().ToString());
        await stats.Locator("#stats-chart canvas").First.WaitForAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(await stats.Locator("#stats-unique").TextContentAsync(), Is.EqualTo(humans.GetProperty("uniqueVisitors").GetInt64().ToString()));
            Assert.That(await stats.Locator("canvas").CountAsync(), Is.GreaterThan(0), "the chart is drawn");
            Assert.That(await stats.GetByText("in your time zone (Europe/Berlin)").CountAsync(), Is.EqualTo(1));
            foreach (var (table, property) in new[] { ("Top referrers", "referrers"), ("Browsers", "browsers"), ("Devices", "deviceTypes") })
            {
                var rows = await stats.GetByRole(AriaRole.Table, new() { Name = table }).Locator("tbody tr").AllInnerTextsAsync();
                var expected = humans.GetProperty(property).EnumerateArray()
                    .Select(count => $"{count.GetProperty("value").GetString() ?? (property == "referrers" ? "Direct or hidden" : "Unknown")}\t{count.GetProperty("visits").GetInt64()}");
                Assert.That(rows, Is.EqualTo(expected), table);
            }
        });
        await AssertWellBehavedAsync(page, "clicks");

        await stats.GetByLabel("Include bots", new() { Exact = true }).CheckAsync();
        await Assertions.Expect(stats.Locator("#stats-visits")).ToHaveTextAsync(visits.Length.ToString());
        Assert.That(tz.GetProperty("visits").GetInt64(), Is.EqualTo(visits.Length));
        await stats.GetByLabel("Per", new() { Exact = true }).SelectOptionAsync("hour");
        await Assertions.Expect(stats.Locator("#stats-visits")).ToHaveTextAsync(visits.Length.ToString());

        var csv = await page.RunAndWaitForDownloadAsync(() => stats.GetByRole(AriaRole.Button, new() { Name = "Download visits (CSV)" }).ClickAsync());
        var lines = (await File.ReadAllTextAsync((await csv.PathAsync())!, Encoding.UTF8)).TrimEnd().Split("\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(csv.SuggestedFilename, Is.EqualTo("clicked-visits.csv"));
            Assert.That(lines, Has.Length.EqualTo(visits.Length + 1), "a header and every visit, bots too");
        });
    }

    [TestCase(375, 740, "phone")]
    [TestCase(1280, 800, "desktop")]
    public async Task The_page_fits_a_phone_and_a_desktop_without_sideways_scrolling(int width, int height, string screen)
    {
        var page = await OpenPageAsync(new() { ViewportSize = new() { Width = width, Height = height } });
        await SignInAsync(page, member.Key);
        await Field(page, "Long URL").FillAsync($"https://example.com/a/rather/long/path/that/could/push/a/narrow/screen/sideways/{screen}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        await page.GetByText("Your short link:").WaitForAsync();
        await Section(page, "Your links").GetByRole(AriaRole.Button, new() { NameRegex = new("^Clicks ") }).First.ClickAsync();
        await page.Locator("#stats-chart canvas").WaitForAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(await page.EvaluateAsync<int>("document.documentElement.scrollWidth"), Is.LessThanOrEqualTo(width));
            Assert.That(await page.Locator("#stats-chart canvas").First.EvaluateAsync<double>("canvas => canvas.getBoundingClientRect().right"),
                Is.LessThanOrEqualTo(width), "the chart fits the screen");
        });
        await AssertWellBehavedAsync(page, screen);
    }

    [Test]
    public async Task Everything_from_signing_in_to_the_qr_code_works_with_the_keyboard_alone_with_focus_always_visible()
    {
        var page = await OpenPageAsync();
        var keyField = page.GetByLabel("API key");
        for (var presses = 0; presses < 5 && !await keyField.EvaluateAsync<bool>("input => input === document.activeElement"); presses++)
        {
            await page.Keyboard.PressAsync("Tab");
            Assert.That(await FocusIsVisibleAsync(page), Is.True, $"visible focus on {await FocusedAsync(page)}");
        }
        Assert.That(await keyField.EvaluateAsync<bool>("input => input === document.activeElement"), Is.True, "the key field is reached by Tab");
        await page.Keyboard.TypeAsync(member.Key);
        await page.Keyboard.PressAsync("Enter");
        await page.GetByText("Signed in as").WaitForAsync();
        Assert.That(await FocusedAsync(page), Is.EqualTo("create-url"), "signed in, focus goes where work starts");
        await page.Keyboard.TypeAsync("https://example.com/by-keyboard");
        await page.Keyboard.PressAsync("Enter");
        await page.GetByText("Your short link:").WaitForAsync();
        Assert.That(await FocusedAsync(page), Is.EqualTo("created-copy"));
        await page.Keyboard.PressAsync("Tab");
        Assert.Multiple(async () =>
        {
            Assert.That(await FocusedAsync(page), Is.EqualTo("created-qr-png"));
            Assert.That(await FocusIsVisibleAsync(page), Is.True);
        });
        var png = await page.RunAndWaitForDownloadAsync(() => page.Keyboard.PressAsync("Enter"));
        Assert.That(png.SuggestedFilename, Does.EndWith(".png"));
        await AssertWellBehavedAsync(page, "keyboard");
    }

    private static Task<string> FocusedAsync(IPage page) =>
        page.EvaluateAsync<string>("document.activeElement.id || document.activeElement.textContent.trim()");

    private static Task<bool> FocusIsVisibleAsync(IPage page) =>
        page.EvaluateAsync<bool>("getComputedStyle(document.activeElement).outlineStyle !== 'none' && parseFloat(getComputedStyle(document.activeElement).outlineWidth) >= 2");

    [Test]
    public async Task The_page_follows_the_systems_dark_or_light_scheme()
    {
        var light = await OpenPageAsync(new() { ColorScheme = ColorScheme.Light });
        var dark = await OpenPageAsync(new() { ColorScheme = ColorScheme.Dark });
        await SignInAsync(dark, member.Key);
        Assert.Multiple(async () =>
        {
            Assert.That(await light.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"), Is.EqualTo("rgb(246, 247, 249)"));
            Assert.That(await dark.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"), Is.EqualTo("rgb(20, 23, 27)"));
        });
        await AssertWellBehavedAsync(dark, "dark");
    }

    [Test]
    public async Task The_first_load_transfers_under_100_kb_and_leaves_the_chart_for_later()
    {
        var page = await OpenPageAsync();
        await page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" }).WaitForAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        var transferred = await page.EvaluateAsync<double>("""
            performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
                .reduce((sum, entry) => sum + entry.transferSize, 0)
            """);
        var loaded = await page.EvaluateAsync<string[]>("performance.getEntriesByType('resource').map(entry => new URL(entry.name).pathname)");
        Assert.Multiple(() =>
        {
            Assert.That(transferred, Is.GreaterThan(0).And.LessThan(100_000));
            Assert.That(loaded, Has.Some.Match(@"^/page/app\.[a-z0-9]+\.js$"));
            Assert.That(loaded, Has.None.Contain("uPlot"), "the chart library comes when a link's clicks are opened");
        });
        TestContext.Out.WriteLine($"first load: {transferred} bytes over the wire");
    }

    [Test]
    public async Task A_read_only_key_is_told_what_it_may_do_and_offered_nothing_else()
    {
        var reader = await TestKeys.CreateAsync(Http, "readonly", member.OwnerId);
        using var owner = NewClient(member.Key);
        (await owner.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/read-only", slug = "read-only-seen" })).Dispose();
        var page = await OpenPageAsync();
        await SignInAsync(page, reader.Key);
        var readOnly = Section(page, "Your links").GetByRole(AriaRole.Listitem).Filter(new() { HasText = "/read-only-seen" });
        await readOnly.WaitForAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(await page.GetByText("Signed in as readonly for a test (readonly)").IsVisibleAsync(), Is.True);
            Assert.That(await page.GetByText("Your key is read-only").IsVisibleAsync(), Is.True);
            Assert.That(await page.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).IsVisibleAsync(), Is.False);
            Assert.That(await readOnly.GetByRole(AriaRole.Button, new() { Name = "Edit read-only-seen" }).CountAsync(), Is.Zero);
            Assert.That(await readOnly.GetByRole(AriaRole.Button, new() { Name = "Delete read-only-seen" }).CountAsync(), Is.Zero);
            Assert.That(await readOnly.GetByRole(AriaRole.Button, new() { Name = "Clicks read-only-seen" }).CountAsync(), Is.EqualTo(1));
        });
        await AssertWellBehavedAsync(page, "read-only");

        // A form offered anyway (a page that does not know the key's role yet) gets the service's 403, explained.
        await page.EvaluateAsync("document.getElementById('create-form').hidden = false");
        await Field(page, "Long URL").FillAsync("https://example.com/not-for-readers");
        await page.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(
            "Not allowed with this key (readonly): A key with the role 'readonly' may not do this; see the README for what each role may do.");
        await AssertWellBehavedAsync(page, "forbidden", 403);
    }

    /// <summary>The link's stats as the page asks for them: the last 30 days, per day, in the page's time zone.</summary>
    private static async Task<JsonElement> StatsForPageAsync(HttpClient owner, bool includeBots, Func<JsonElement, bool>? accept = null)
    {
        var from = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-30).ToString("O"));
        using var stats = await Eventually.ValueAsync(async () =>
            {
                using var response = await owner.GetAsync(
                    $"/api/v1/links/clicked/stats?from={from}&interval=day&tz=Europe/Berlin&includeBots={(includeBots ? "true" : "false")}");
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            },
            document => accept?.Invoke(document.RootElement) ?? true, TimeSpan.FromSeconds(15));
        return stats.RootElement.Clone();
    }
}
