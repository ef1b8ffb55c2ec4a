using System.Diagnostics.Metrics;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Features.Redirects;

/// <summary>Why a visitor was not redirected; each is an outcome of shortlink_redirects_total.</summary>
internal enum RedirectRefusal
{
    NotFound,
    Blocked,
    Expired,
    LimitReached,
    PasswordRequired,
    PasswordWrong,
    RateLimited,
    FormRejected,
}

/// <summary>
/// shortlink_redirects_total{outcome, http_response_status_code}: every answer to a visitor of a short link, from the
/// redirect (GET and HEAD) and its password form. Counted in plain fields and read when /metrics is scraped, so a
/// visit costs an increment, never a measurement or a tag list; every series is there from the start, at 0.
/// </summary>
internal sealed class RedirectOutcomes
{
    private static readonly int[] RedirectStatuses = [301, 302, 303, 307, 308];

    private static readonly KeyValuePair<string, object?>[][] SeriesTags =
    [
        .. RedirectStatuses.Select(status => Tags("redirected", status)),
        .. Enum.GetValues<RedirectRefusal>().Select(refusal => refusal switch
        {
            RedirectRefusal.NotFound => Tags("not-found", 404),
            RedirectRefusal.Blocked => Tags("blocked", 410),
            RedirectRefusal.Expired => Tags("expired", 410),
            RedirectRefusal.LimitReached => Tags("limit-reached", 410),
            RedirectRefusal.PasswordRequired => Tags("password-required", 401),
            RedirectRefusal.PasswordWrong => Tags("password-wrong", 401),
            RedirectRefusal.RateLimited => Tags("rate-limited", 429),
            RedirectRefusal.FormRejected => Tags("form-rejected", 400),
            _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal, null),
        }),
    ];

    private readonly long[] counts = new long[SeriesTags.Length];

    public RedirectOutcomes(IMeterFactory meters) =>
        meters.Create(ShortlinkMetrics.MeterName).CreateObservableCounter("shortlink.redirects",
            () => SeriesTags.Select((tags, i) => new Measurement<long>(Volatile.Read(ref counts[i]), tags)),
            "{answer}", "Answers to visitors of short links, by outcome (redirected or why not) and status code");

    public void Redirected(int status) => Interlocked.Increment(ref counts[Array.IndexOf(RedirectStatuses, status)]);

    public void Refused(RedirectRefusal refusal) => Interlocked.Increment(ref counts[RedirectStatuses.Length + (int)refusal]);

    private static KeyValuePair<string, object?>[] Tags(string outcome, int status) =>
        [new("outcome", outcome), new("http.response.status_code", status)];
}
