using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Serilog.Events;
using Shortlink.Features.Links;
using Shortlink.Tests.Support;

namespace Shortlink.Tests.Api;

/// <summary>
/// Requests are logged and counted as what they were: a client's mistake is not an error, an aborted
/// request is not a 500, and nothing a client sends can write to the error log.
/// </summary>
public sealed class ErrorLoggingTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Serilog:MinimumLevel:Default"] = "Information",
    };

    [SetUp]
    public void ForgetEarlierLogs() => App.Logs.Clear();

    [Test]
    public async Task Visits_stay_out_of_the_default_log_level_while_api_calls_and_visit_errors_do_not()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/quiet" })).GetProperty("code").GetString();
        using var visitor = NewClient(key: null);
        (await visitor.GetAsync($"/{code}")).Dispose();
        (await visitor.GetAsync("/NoSuchCodeHere")).Dispose();
        var routes = App.Logs.Requests.Select(e => LogCapture.StringOf(e, "RouteTemplate")).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(routes, Does.Contain("/api/v1/links/"));
            Assert.That(routes, Does.Not.Contain("/{code}"), "a visit, found or not, is a Debug line by default");
        });
    }

    [TestCase("POST", "/api/v1/links", "{\"url\":", 400, TestName = "Truncated_json_is_logged_as_a_400_at_information")]
    [TestCase("POST", "/api/v1/links", "{\"url\":\"https://example.com\",\"expiresIn\":1}", 400, TestName = "An_unknown_field_is_logged_as_a_400_at_information")]
    [TestCase("POST", "/api/v1/links", "{\"url\":\"https://example.com\",\"url\":\"https://example.org\"}", 400, TestName = "A_duplicate_field_is_logged_as_a_400_at_information")]
    [TestCase("GET", "/api/v1/links?limit=abc", null, 400, TestName = "A_non_numeric_limit_is_logged_as_a_400_at_information")]
    [TestCase("GET", "/api/v1/links?tag=a&tag=b", null, 400, TestName = "A_repeated_parameter_is_logged_as_a_400_at_information")]
    [TestCase("POST", "/api/v1/links", "{\"url\":\"https://example.com\"}", 415, TestName = "A_wrong_content_type_is_logged_as_a_415_at_information")]
    [TestCase("GET", "/api/v1/links/NoSuchCode", null, 404, TestName = "An_unknown_link_is_logged_as_a_404_at_information")]
    public async Task Client_mistakes_are_logged_at_information_without_a_stack_trace(string method, string path, string? body, int status)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, status == 415 ? "text/plain" : "application/json");
        }
        using var response = await Http.SendAsync(request);
        Assert.That((int)response.StatusCode, Is.EqualTo(status));

        var logged = await RequestLogAsync(path.Split('?')[0]);
        Assert.Multiple(() =>
        {
            Assert.That(LogCapture.StatusOf(logged), Is.EqualTo(status));
            Assert.That(logged.Level, Is.EqualTo(LogEventLevel.Information));
            Assert.That(logged.Exception, Is.Null);
            Assert.That(App.Logs.Events.Where(e => e.Level >= LogEventLevel.Warning), Is.Empty);
        });
    }

    [TestCase("/api/v1/links", "", 0)]
    [TestCase("/api/v1/links", "{\"url\":\"https://exa", 50)]
    [TestCase("/api/v1/links/bulk", "{\"items\":[{\"url\":", 300)]
    [TestCase("/api/v1/links/abort-me", "{\"title\":", 1000)]
    public async Task A_client_that_resets_in_the_middle_of_its_body_is_logged_and_counted_as_499_without_errors(
        string path, string partialBody, int millisecondsBeforeReset)
    {
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, Http.BaseAddress!.Port);
            var stream = client.GetStream();
            var method = path.EndsWith("abort-me", StringComparison.Ordinal) ? "PATCH" : "POST";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TestKeys.Admin}\r\nContent-Type: application/json\r\n" +
                $"Content-Length: 1000\r\n\r\n{partialBody}"));
            await stream.FlushAsync();
            await Task.Delay(millisecondsBeforeReset);
            client.Client.LingerState = new LingerOption(true, 0);
        }

        var logged = await RequestLogAsync(path);
        var metrics = await Http.GetStringAsync("/metrics");
        var durations = metrics.Split('\n').Where(line => line.StartsWith("http_server_request_duration_seconds_count", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(LogCapture.StatusOf(logged), Is.EqualTo(499));
            Assert.That(logged.Level, Is.EqualTo(LogEventLevel.Information));
            // Kestrel used to log an Error when it drained a body reader the framework had left mid-read.
            Assert.That(App.Logs.Events.Where(e => e.Level >= LogEventLevel.Warning).Select(e => e.RenderMessage()), Is.Empty);
            Assert.That(durations, Has.Some.Contains("http_response_status_code=\"499\""));
            Assert.That(durations, Has.None.Contains("http_response_status_code=\"500\""));
        });
    }

    private async Task<LogEvent> RequestLogAsync(string path)
    {
        LogEvent? found = null;
        await Eventually.TrueAsync(() =>
        {
            found = App.Logs.Requests.LastOrDefault(e => LogCapture.StringOf(e, "RequestPath") == path);
            return Task.FromResult(found is not null);
        });
        return found!;
    }
}

/// <summary>A real bug (here: a QR renderer that throws) is a 500, logged once at Error with the path and route it happened on.</summary>
public sealed class UnhandledExceptionLoggingTests : ApiTestBase
{
    [Test]
    public async Task An_unhandled_exception_is_a_500_logged_at_error_with_the_real_path_and_route()
    {
        await CreateLinkAsync(new { url = "https://example.com/broken-renderer", slug = "broken-qr" });
        await using var broken = App.WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Serilog:MinimumLevel:Default", "Information");
            builder.ConfigureTestServices(services => services.AddSingleton(
                new GetLinkQrCode.Images((_, _, _) => throw new InvalidOperationException("the renderer is broken"))));
        });
        using var http = broken.CreateClient();
        TestKeys.Authorize(http, TestKeys.Admin);
        App.Logs.Clear();
        using var response = await http.GetAsync("/api/v1/links/broken-qr/qr?size=100");
        await AssertProblemAsync(response, HttpStatusCode.InternalServerError, "urn:shortlink:problem:internal-error");

        var logs = App.Logs.Events;
        var errors = logs.Where(e => e.Exception is not null).ToList();
        var request = logs.Single(e => LogCapture.StringOf(e, "RequestPath") == "/api/v1/links/broken-qr/qr" && e.Properties.ContainsKey("StatusCode"));
        Assert.Multiple(() =>
        {
            Assert.That(errors, Has.Count.EqualTo(1));
            Assert.That(errors[0].Level, Is.EqualTo(LogEventLevel.Error));
            Assert.That(LogCapture.StringOf(errors[0], "RequestPath"), Is.EqualTo("/api/v1/links/broken-qr/qr"));
            Assert.That(LogCapture.StringOf(errors[0], "RouteTemplate"), Is.EqualTo("/api/v1/links/{code}/qr"));
            Assert.That(errors[0].Exception, Is.InstanceOf<InvalidOperationException>());
            Assert.That(LogCapture.StatusOf(request), Is.EqualTo(500));
            Assert.That(request.Level, Is.EqualTo(LogEventLevel.Error));
            Assert.That(LogCapture.StringOf(request, "RouteTemplate"), Is.EqualTo("/api/v1/links/{code}/qr"));
        });
    }
}

/// <summary>Visits are logged at the configured level, for an operator who wants a line per click.</summary>
public sealed class VisitLoggingTests : ApiTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Serilog:MinimumLevel:Default"] = "Information",
        ["Shortlink:Telemetry:VisitLogLevel"] = "Information",
    };

    [Test]
    public async Task With_visits_at_information_every_visit_is_a_line()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/loud" })).GetProperty("code").GetString();
        App.Logs.Clear();
        using var visitor = NewClient(key: null);
        (await visitor.GetAsync($"/{code}")).Dispose();
        (await visitor.GetAsync("/NoSuchCodeHere")).Dispose();
        var visits = App.Logs.Requests.Where(e => LogCapture.StringOf(e, "RouteTemplate") == "/{code}").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(visits.Select(LogCapture.StatusOf), Is.EquivalentTo(new[] { 302, 404 }));
            Assert.That(visits.Select(e => e.Level), Is.All.EqualTo(LogEventLevel.Information));
        });
    }
}
