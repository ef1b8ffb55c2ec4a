using NSubstitute;
using NUnit.Framework;

namespace Shortlink.Features.Links;

public sealed class CreateLinkTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private CreateLink.Validator validator = null!;

    [SetUp]
    public void CreateValidator()
    {
        var clock = Substitute.For<TimeProvider>();
        clock.GetUtcNow().Returns(Now);
        validator = new CreateLink.Validator(clock);
    }

    private static CreateLink.Request Valid => new("https://example.com/");

    private static IEnumerable<TestCaseData> Invalid()
    {
        yield return new TestCaseData(Valid with { Url = null }, "url");
        yield return new TestCaseData(Valid with { Url = "ftp://example.com" }, "url");
        yield return new TestCaseData(Valid with { Slug = "ab" }, "slug");
        yield return new TestCaseData(Valid with { Slug = "metrics" }, "slug");
        yield return new TestCaseData(Valid with { Title = new string('t', 513) }, "title");
        yield return new TestCaseData(Valid with { Title = "bell\u0007" }, "title");
        yield return new TestCaseData(Valid with { Tags = Enumerable.Range(0, 21).Select(i => $"t{i}").ToArray() }, "tags");
        yield return new TestCaseData(Valid with { Tags = [new string('t', 51)] }, "tags");
        yield return new TestCaseData(Valid with { RedirectType = 303 }, "redirectType");
        yield return new TestCaseData(Valid with { MaxVisits = 0 }, "maxVisits");
        yield return new TestCaseData(Valid with { ExpiresAt = Now }, "expiresAt");
        yield return new TestCaseData(Valid with { ExpiresAt = Now.AddDays(1), ValidFrom = Now.AddDays(2) }, "expiresAt");
    }

    [TestCaseSource(nameof(Invalid))]
    public void Each_rule_names_its_field(object request, string field)
    {
        var result = validator.Validate((CreateLink.Request)request);
        Assert.That(result.Errors.Select(e => e.PropertyName).Distinct(), Is.EquivalentTo(new[] { field }));
    }

    [Test]
    public void A_full_valid_request_passes() =>
        Assert.That(validator.Validate(new CreateLink.Request("https://example.com/", "My-slug_1", "Title", ["a", "b"],
            Now.AddDays(2), Now.AddDays(1), 10, 308, false)).IsValid, Is.True);

    [Test]
    public void Drafts_default_to_302_forwarding_the_query_and_deduplicate_tags()
    {
        var domain = new Infrastructure.ShortDomain("https://Sho.RT");
        var caller = new Infrastructure.Security.ApiCaller(Guid.CreateVersion7(), Guid.CreateVersion7(), "member");
        var draft = CreateLink.Draft(new CreateLink.Request("https://example.com/", Tags: ["a", "a", "b"]), caller, domain, Now);
        Assert.Multiple(() =>
        {
            Assert.That(draft.Row.RedirectType, Is.EqualTo(302));
            Assert.That(draft.Row.ForwardQuery, Is.True);
            Assert.That(draft.Row.Domain, Is.EqualTo("sho.rt"));
            Assert.That(draft.Tags, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(draft.IsCustomSlug, Is.False);
            Assert.That(draft.Row.OwnerId, Is.EqualTo(caller.OwnerId));
            Assert.That(draft.CreatedByKeyId, Is.EqualTo(caller.KeyId));
        });
    }
}
