using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure.Data;

namespace Shortlink.Infrastructure.Web;

internal static class IdempotencyExtensions
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotent-Replayed";
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>
    /// Makes a POST safe to retry: the first successful response under an Idempotency-Key is kept for
    /// 24 hours and replayed for the same request; the same key with a different body is refused.
    /// </summary>
    public static RouteHandlerBuilder WithIdempotency<TBody>(this RouteHandlerBuilder builder) where TBody : class =>
        builder
            .AddEndpointFilter<IdempotencyFilter<TBody>>()
            .WithMetadata(new IdempotentEndpoint());

    public static IServiceCollection AddIdempotency(this IServiceCollection services)
    {
        services.AddHostedService<IdempotencyPurge>();
        return services;
    }
}

/// <summary>Marks endpoints that honour Idempotency-Key, so the OpenAPI document can describe the header.</summary>
internal sealed class IdempotentEndpoint;

/// <summary>
/// Only 2xx responses are kept: a request that failed changed nothing, so repeating it is already
/// safe and the client may correct it under the same key. A key still in flight answers 409.
/// </summary>
internal sealed class IdempotencyFilter<TBody>(Databases databases, TimeProvider clock, IOptions<JsonOptions> json,
    ILogger<IdempotencyFilter<TBody>> logger) : IEndpointFilter where TBody : class
{
    private const int MaxKeyLength = 255;

    private sealed record StoredResponse(byte[] RequestHash, int? StatusCode, string? Location, string? ResponseBody, DateTime CreatedAt);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!http.Request.Headers.TryGetValue(IdempotencyExtensions.HeaderName, out var values))
        {
            return await next(context);
        }
        var key = values.ToString();
        if (values.Count != 1 || key.Length is 0 or > MaxKeyLength || key.Any(c => c is < '!' or > '~'))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ProblemTypes.ValidationFailed, "The Idempotency-Key header is not valid",
                $"Send one Idempotency-Key of 1 to {MaxKeyLength} visible ASCII characters, e.g. a UUID.");
        }
        var ct = http.RequestAborted;
        var keyHash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var requestHash = RequestHash(http, context.Arguments.OfType<TBody>().FirstOrDefault());

        await using var connection = await databases.OpenControlAsync(ct);
        if (!await TryReserveAsync(connection, keyHash, requestHash, ct))
        {
            return await AnswerForExistingAsync(connection, keyHash, requestHash, ct);
        }
        try
        {
            var result = await next(context);
            if (result is IResult executable && StatusOf(result) is >= 200 and < 300)
            {
                return await ExecuteAndStoreAsync(http, executable, connection, keyHash, ct);
            }
            await ReleaseAsync(connection, keyHash);
            return result;
        }
        catch
        {
            await ReleaseAsync(connection, keyHash);
            throw;
        }
    }

    private async Task<bool> TryReserveAsync(MySqlConnection connection, byte[] keyHash, byte[] requestHash, CancellationToken ct)
    {
        const string deleteExpired = "DELETE FROM idempotency_records WHERE key_hash = @KeyHash AND created_at < @Cutoff";
        var now = clock.GetUtcNow().UtcDateTime;
        if (await TryInsertAsync(connection, keyHash, requestHash, now, ct))
        {
            return true;
        }
        // An expired record under this key may still be there (the hourly purge may be removing it
        // at this very moment); once it is gone, a second insert decides.
        await connection.ExecuteAsync(new CommandDefinition(deleteExpired,
            new { KeyHash = keyHash, Cutoff = now - IdempotencyExtensions.Retention }, cancellationToken: ct));
        return await TryInsertAsync(connection, keyHash, requestHash, now, ct);
    }

    private static async Task<bool> TryInsertAsync(MySqlConnection connection, byte[] keyHash, byte[] requestHash, DateTime now,
        CancellationToken ct)
    {
        const string insert = """
            INSERT INTO idempotency_records (key_hash, request_hash, created_at) VALUES (@KeyHash, @RequestHash, @Now)
            """;
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(insert,
                new { KeyHash = keyHash, RequestHash = requestHash, Now = now }, cancellationToken: ct));
            return true;
        }
        catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            return false;
        }
    }

    private static async Task<IResult> AnswerForExistingAsync(MySqlConnection connection, byte[] keyHash, byte[] requestHash, CancellationToken ct)
    {
        const string select = """
            SELECT request_hash, status_code, location, response_body, created_at
            FROM idempotency_records WHERE key_hash = @KeyHash
            """;
        var stored = await connection.QuerySingleOrDefaultAsync<StoredResponse>(
            new CommandDefinition(select, new { KeyHash = keyHash }, cancellationToken: ct));
        if (stored is not null && !stored.RequestHash.AsSpan().SequenceEqual(requestHash))
        {
            return Problems.Of(StatusCodes.Status422UnprocessableEntity, ProblemTypes.IdempotencyKeyReused,
                "The Idempotency-Key was used for a different request",
                "This key already belongs to a request with another body; use a new key for a new request.");
        }
        if (stored?.StatusCode is not { } status)
        {
            return Problems.Of(StatusCodes.Status409Conflict, ProblemTypes.IdempotencyKeyInUse,
                "A request with this Idempotency-Key is in progress", "Retry after the first request has finished.");
        }
        return new ReplayedResponse(status, stored.Location, stored.ResponseBody ?? "");
    }

    private static async Task<IResult> ExecuteAndStoreAsync(HttpContext http, IResult result, MySqlConnection connection,
        byte[] keyHash, CancellationToken ct)
    {
        const string complete = """
            UPDATE idempotency_records SET status_code = @Status, location = @Location, response_body = @Body
            WHERE key_hash = @KeyHash
            """;
        var realBody = http.Response.Body;
        using var buffer = new MemoryStream();
        http.Response.Body = buffer;
        try
        {
            await result.ExecuteAsync(http);
        }
        finally
        {
            http.Response.Body = realBody;
        }
        var body = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        await connection.ExecuteAsync(new CommandDefinition(complete, new
        {
            Status = http.Response.StatusCode,
            Location = http.Response.Headers.Location.ToString() is { Length: > 0 } location ? location : null,
            Body = body,
            KeyHash = keyHash,
        }, cancellationToken: ct));
        buffer.Position = 0;
        await buffer.CopyToAsync(realBody, ct);
        return Results.Empty;
    }

    // Not cancellable: a reservation must not outlive a request that was aborted half-way.
    private async Task ReleaseAsync(MySqlConnection connection, byte[] keyHash)
    {
        const string delete = "DELETE FROM idempotency_records WHERE key_hash = @KeyHash AND status_code IS NULL";
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(delete, new { KeyHash = keyHash }));
        }
        catch (MySqlException ex)
        {
            logger.LogWarning(ex, "Could not release an idempotency reservation; it expires after {Retention}",
                IdempotencyExtensions.Retention);
        }
    }

    private static int? StatusOf(object? result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult withStatus => withStatus.StatusCode,
        _ => null,
    };

    /// <summary>The request as the handler saw it (route and parsed body), so JSON formatting does not matter.</summary>
    private byte[] RequestHash(HttpContext http, TBody? body)
    {
        var canonical = JsonSerializer.SerializeToUtf8Bytes(body, json.Value.SerializerOptions);
        var route = Encoding.UTF8.GetBytes($"{http.Request.Method} {http.Request.Path}\n");
        return SHA256.HashData([.. route, .. canonical]);
    }

    private sealed class ReplayedResponse(int status, string? location, string body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers[IdempotencyExtensions.ReplayedHeaderName] = "true";
            if (location is not null)
            {
                httpContext.Response.Headers.Location = location;
            }
            httpContext.Response.ContentType = "application/json; charset=utf-8";
            return httpContext.Response.WriteAsync(body);
        }
    }
}

/// <summary>Deletes idempotency records past their retention, in small batches, once an hour.</summary>
internal sealed class IdempotencyPurge(Databases databases, TimeProvider clock, ILogger<IdempotencyPurge> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        const string purge = "DELETE FROM idempotency_records WHERE created_at < @Cutoff LIMIT 1000";
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        do
        {
            try
            {
                await using var connection = await databases.OpenControlAsync(stoppingToken);
                var cutoff = clock.GetUtcNow().UtcDateTime - IdempotencyExtensions.Retention;
                while (await connection.ExecuteAsync(new CommandDefinition(purge, new { Cutoff = cutoff },
                           cancellationToken: stoppingToken)) > 0)
                {
                }
            }
            catch (MySqlException ex)
            {
                logger.LogWarning(ex, "Purging expired idempotency records failed; next try in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
