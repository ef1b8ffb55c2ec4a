using FluentValidation;

namespace Shortlink.Infrastructure.Web;

internal static class ValidationFilterExtensions
{
    /// <summary>Validates the endpoint's <typeparamref name="T"/> argument before the handler runs.</summary>
    public static RouteHandlerBuilder Validate<T>(this RouteHandlerBuilder builder) =>
        builder
            .AddEndpointFilter<ValidationFilter<T>>()
            .ProducesValidationProblem()
            .ProducesProblems(CommonProblems.ValidationFailed, CommonProblems.MalformedRequest);
}

internal sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = context.Arguments.OfType<T>().FirstOrDefault();
        if (argument is null)
        {
            return Problems.Of(CommonProblems.MalformedRequest, "The request body is missing.");
        }
        var result = await validator.ValidateAsync(argument, context.HttpContext.RequestAborted);
        return result.IsValid
            ? await next(context)
            : TypedResults.ValidationProblem(result.ToDictionary());
    }
}
