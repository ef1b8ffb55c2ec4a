using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Features.Redirects;

/// <summary>
/// The cached redirect's allocation budget: bytes allocated per visit by the handler and its answer, measured on
/// the thread that runs them (a hit completes synchronously). A change that allocates more per click fails here,
/// in CI, rather than in a benchmark nobody ran.
/// </summary>
public sealed class RedirectAllocationTests : ApiTestBase
{
    /// <summary>
    /// Measured at 432 bytes when set (it was 1,496 before the redirect stopped going through a redirect result, the
    /// counter through a measurement and the key through a second prefix); the margin absorbs runtime updates, not a
    /// new allocation per visit.
    /// </summary>
    private const long BudgetBytes = 600;

    [Test]
    public async Task A_cached_redirect_allocates_within_its_budget()
    {
        var code = (await CreateLinkAsync(new { url = "https://example.com/allocation?x=1" })).GetProperty("code").GetString()!;
        var visits = App.Services.GetRequiredService<Visits>();
        var context = new DefaultHttpContext { RequestServices = App.Services };
        context.Request.Method = HttpMethods.Get;
        async Task VisitAsync()
        {
            var result = await visits.FollowAsync(code, context, password: null, afterForm: false);
            await result.ExecuteAsync(context);
        }
        for (var i = 0; i < 200; i++)
        {
            await VisitAsync();
        }
        const int visitsMeasured = 2000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < visitsMeasured; i++)
        {
            var visit = VisitAsync();
            Assert.That(visit.IsCompletedSuccessfully, Is.True, "a cached redirect completes without waiting");
        }
        var perVisit = (GC.GetAllocatedBytesForCurrentThread() - before) / visitsMeasured;
        TestContext.Out.WriteLine($"{perVisit} bytes per cached redirect");
        Assert.Multiple(() =>
        {
            Assert.That(context.Response.StatusCode, Is.EqualTo(StatusCodes.Status302Found));
            Assert.That(perVisit, Is.LessThanOrEqualTo(BudgetBytes));
        });
    }
}
