using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace Shortlink.Infrastructure.Web;

internal static class WebExtensions
{
    public static IServiceCollection AddWeb(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(options =>
        {
            // Unknown fields are refused, so a misspelt "expiresAt" cannot pass silently as "no expiry".
            options.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
            options.SerializerOptions.MaxDepth = 16;
        });
        // Binding failures reach ProblemExceptionHandler, which says precisely what was wrong.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddProblems();
        services.AddIdempotency();
        services.AddOpenApi();
        services.AddSingleton(TimeProvider.System);
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
