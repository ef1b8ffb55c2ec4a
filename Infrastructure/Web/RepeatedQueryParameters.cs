using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Mvc;

namespace Shortlink.Infrastructure.Web;

internal static class RepeatedQueryParameters
{
    /// <summary>
    /// Refuses a query parameter of <typeparamref name="TQuery"/> given more than once. Bound as it is, the
    /// values would be joined with a comma, and "?tag=a&amp;tag=b" would quietly look for the tag "a,b".
    /// </summary>
    public static RouteHandlerBuilder RejectsRepeatedQueryParameters<TQuery>(this RouteHandlerBuilder builder)
    {
        var names = typeof(TQuery).GetConstructors().SelectMany(constructor => constructor.GetParameters())
            .Select(parameter => parameter.GetCustomAttribute<FromQueryAttribute>()?.Name)
            .OfType<string>()
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        return builder
            .AddEndpointFilter((context, next) =>
            {
                var query = context.HttpContext.Request.Query;
                foreach (var name in names)
                {
                    if (query.TryGetValue(name, out var values) && values.Count > 1)
                    {
                        return ValueTask.FromResult<object?>(Problems.Of(CommonProblems.MalformedRequest,
                            $"The query parameter '{name}' is given {values.Count} times; give it once."));
                    }
                }
                return next(context);
            })
            .ProducesProblems(CommonProblems.MalformedRequest);
    }
}
