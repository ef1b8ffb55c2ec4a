using NSubstitute;
using NUnit.Framework;
using Shortlink.Infrastructure.Web;

namespace Shortlink.Features.Links;

public sealed class UpdateLinkTests
{
    private static readonly DateTime Created = new(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static readonly LinkRow Current = new(Guid.CreateVersion7(), "sho.rt", "abc", Guid.CreateVersion7(), "https://old.example/", "Old title",
        301, false, Created, Created.AddYears(1), 50, 3, Created, Created);

    [Test]
    public void Absent_fields_keep_their_values()
    {
        var changed = UpdateLink.Apply(new UpdateLink.Request(), Current, Now);
        Assert.That(changed, Is.EqualTo(Current with { UpdatedAt = Now.UtcDateTime }));
    }

    [Test]
    public void Null_clears_the_clearable_fields()
    {
        var request = new UpdateLink.Request(
            Title: new Patch<string?>(true, null),
            ExpiresAt: new Patch<DateTimeOffset?>(true, null),
            ValidFrom: new Patch<DateTimeOffset?>(true, null),
            MaxVisits: new Patch<int?>(true, null));
        var changed = UpdateLink.Apply(request, Current, Now);
        Assert.Multiple(() =>
        {
            Assert.That(changed.Title, Is.Null);
            Assert.That(changed.ExpiresAt, Is.Null);
            Assert.That(changed.ValidFrom, Is.Null);
            Assert.That(changed.MaxVisits, Is.Null);
            Assert.That(changed.Url, Is.EqualTo(Current.Url));
            Assert.That(changed.Code, Is.EqualTo(Current.Code));
        });
    }

    [Test]
    public void Set_fields_replace_and_urls_are_normalised()
    {
        var request = new UpdateLink.Request(
            Url: new Patch<string?>(true, "https://bücher.example/"),
            RedirectType: new Patch<int?>(true, 308),
            ForwardQuery: new Patch<bool?>(true, true));
        var changed = UpdateLink.Apply(request, Current, Now);
        Assert.Multiple(() =>
        {
            Assert.That(changed.Url, Is.EqualTo("https://xn--bcher-kva.example/"));
            Assert.That(changed.RedirectType, Is.EqualTo(308));
            Assert.That(changed.ForwardQuery, Is.True);
            Assert.That(changed.Title, Is.EqualTo(Current.Title));
        });
    }

    [Test]
    public void The_validator_refuses_clearing_what_cannot_be_cleared_and_past_expiry()
    {
        var clock = Substitute.For<TimeProvider>();
        clock.GetUtcNow().Returns(Now);
        var validator = new UpdateLink.Validator(clock);
        var result = validator.Validate(new UpdateLink.Request(
            Url: new Patch<string?>(true, null),
            RedirectType: new Patch<int?>(true, null),
            ForwardQuery: new Patch<bool?>(true, null),
            ExpiresAt: new Patch<DateTimeOffset?>(true, Now.AddMinutes(-1))));
        Assert.That(result.Errors.Select(e => e.PropertyName).Distinct(),
            Is.EquivalentTo(new[] { "url", "redirectType", "forwardQuery", "expiresAt" }));
    }
}
