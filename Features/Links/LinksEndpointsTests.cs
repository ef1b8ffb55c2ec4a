using FluentValidation;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Shortlink.Features.Keys;
using Shortlink.Features.Stats;

namespace Shortlink.Features.Links;

public sealed class LinksEndpointsTests
{
    private static readonly Type[] FeatureTypes = typeof(LinksEndpoints).Assembly.GetTypes()
        .Where(t => t.Namespace?.StartsWith("Shortlink.Features", StringComparison.Ordinal) == true)
        .ToArray();

    [Test]
    public void Every_request_and_query_of_a_slice_has_a_registered_validator()
    {
        var services = new ServiceCollection().AddSingleton(TimeProvider.System).AddLinks().AddKeys().AddStats().BuildServiceProvider();
        var inputs = FeatureTypes.Where(t => t.IsNested && t.Name is "Request" or "Query").ToList();
        Assert.That(inputs, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var input in inputs)
            {
                var validator = services.GetService(typeof(IValidator<>).MakeGenericType(input));
                Assert.That(validator, Is.Not.Null, $"AddLinks, AddKeys and AddStats register no validator for {input.DeclaringType!.Name}.{input.Name}");
            }
        });
    }

    [Test]
    public void Every_validator_class_is_registered()
    {
        var services = new ServiceCollection().AddSingleton(TimeProvider.System).AddLinks().AddKeys().AddStats().BuildServiceProvider();
        var validators = FeatureTypes.Where(t => t.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(AbstractValidator<>));
        Assert.Multiple(() =>
        {
            foreach (var validator in validators)
            {
                var target = validator.BaseType!.GetGenericArguments()[0];
                Assert.That(services.GetService(typeof(IValidator<>).MakeGenericType(target)), Is.InstanceOf(validator));
            }
        });
    }
}
