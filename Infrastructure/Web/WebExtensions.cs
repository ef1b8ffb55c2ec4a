using System.Runtime.CompilerServices;
using System.Text.Json;
using FluentValidation;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Web;

internal static class WebExtensions
{
    public static IServiceCollection AddWeb(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(options => StrictJson.Apply(options.SerializerOptions));
        // Binding failures reach ProblemExceptionHandler, which says precisely what was wrong.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblems();
        services.AddIdempotency();
        services.AddRateLimits();
        services.AddClientNetwork();
        services.AddSecurityHeaders();
        services.AddOpenApi();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<Outages>();
        services.AddSingleton(provider =>
            new ShortDomain(provider.GetRequiredService<IOptions<ShortlinkOptions>>().Value.PublicBaseUrl));
        return services;
    }

    /// <summary>Validation errors name fields as the JSON does (url, not Url), wherever a validator runs.</summary>
    [ModuleInitializer]
    internal static void NameValidationErrorsLikeJson()
    {
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) =>
            member is null ? null : JsonNamingPolicy.CamelCase.ConvertName(member.Name);
        ValidatorOptions.Global.DisplayNameResolver = ValidatorOptions.Global.PropertyNameResolver;
    }
}
