using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Shortlink.Infrastructure.Data;
using Shortlink.Infrastructure.Security;
using Shortlink.Infrastructure.Telemetry;

namespace Shortlink.Infrastructure.Web;

internal static class IdempotencyExtensions
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = "Idempotent-Replayed";
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>How long a reservation holds its key without an answer: a process that died holding it frees it after this.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Makes a POST safe to retry: the first successful response under an Idempotency-Key is kept for
    /// 24 hours and replayed for the same request; the same key with a different request is refused.
    /// </summary>
    public static RouteHandlerBuilder WithIdempotency<TBody>(this RouteHandlerBuilder builder) where TBody : class =>
        builder
            .AddEndpointFilter<IdempotencyFilter<TBody>>()
            .WithRequestHeader(HeaderName, "Makes retries safe: the first successful response under this key is replayed for 24 hours; " +
                                           "the same key with a different body answers 422.", maxLength: 255)
            .WithResponseHeader(StatusCodes.Status200OK, ReplayedHeaderName, ReplayedDescription)
            .WithResponseHeader(StatusCodes.Status201Created, ReplayedHeaderName, ReplayedDescription)
            .ProducesProblems(CommonProblems.ValidationFailed, IdempotencyProblems.KeyInUse, IdempotencyProblems.KeyReused);

    private const string ReplayedDescription = "\"true\" when this is the kept response of an earlier request with the same Idempotency-Key.";

    public static IServiceCollection AddIdempotency(this IServiceCollection services)
    {
        services.AddSingleton<IdempotencyStore>();
        services.AddHostedService<IdempotencyPurge>();
        return services;
    }
}

internal static class IdempotencyProblems
{
    public static readonly ProblemType KeyInUse = new("idempotency-key-in-use", 409, "A request with this Idempotency-Key is in progress");
    public static readonly ProblemType KeyReused = new("idempotency-key-reused", 422, "The Idempotency-Key was used for a different request");
}

/// <summary>
/// A successful answer that may have changed nothing (a bulk whose every item failed): then its key is not
/// bound either, and the client can correct the request and retry under the same key.
/// </summary>
internal interface IMayChangeNothing
{
    bool ChangedNothing { get; }
}

/// <summary>
/// Only 2xx responses that changed something are kept: a request that failed changed nothing, so
/// repeating it is already safe and the client may correct it under the same key. A key still in flight answers 409 until
/// its request ends or its lease runs out. No connection is held while the handler runs: the filter
/// takes one for each of its own queries, so a request never needs two at once.
/// </summary>
internal sealed class IdempotencyFilter<TBody>(IdempotencyStore store, TimeProvider clock, IOptions<JsonOptions> json,
    ILogger<IdempotencyFilter<TBody>> logger) : IEndpointFilter where TBody : class
{
    private const int MaxKeyLength = 255;

    /// <summary>Bounds the bookkeeping that must outlive an aborted request.</summary>
    private static readonly TimeSpan BookkeepingTimeout = TimeSpan.FromSeconds(10);

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
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [IdempotencyExtensions.HeaderName] = [$"Send one Idempotency-Key of 1 to {MaxKeyLength} visible ASCII characters, e.g. a UUID."],
            });
        }
        // Keys are the owner's: the same key from two owners names two requests.
        var owner = ApiCaller.From(http.User).OwnerId.ToByteArray(bigEndian: true);
        var keyHash = SHA256.HashData([.. owner, .. Encoding.UTF8.GetBytes(key)]);
        var requestHash = RequestHash(http, context.Arguments.OfType<TBody>().FirstOrDefault());
        var lease = Guid.NewGuid();
        if (await TryReserveAsync(keyHash, requestHash, lease, http.RequestAborted) is { } answerForHolder)
        {
            return answerForHolder;
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await ReleaseAsync(keyHash, lease);
            throw;
        }
        if (result is IResult executable && StatusOf(result) is >= 200 and < 300 && !ChangedNothing(result))
        {
            return await KeepAndAnswerAsync(http, executable, keyHash, lease);
        }
        await ReleaseAsync(keyHash, lease);
        return result;
    }

    /// <summary>Null when this request now holds the key; otherwise the answer for the request that does.</summary>
    private async Task<IResult?> TryReserveAsync(byte[] keyHash, byte[] requestHash, Guid lease, CancellationToken ct)
    {
        // The holder may finish (or give the key back) between our insert and our read: then try once more.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (await store.TryReserveAsync(keyHash, requestHash, lease, clock.GetUtcNow().UtcDateTime, ct))
            {
                return null;
            }
            if (await store.FindAsync(keyHash, ct) is { } holder)
            {
                return AnswerFor(holder, requestHash);
            }
        }
        return InUse();
    }

    private static IResult AnswerFor(IdempotencyStore.Record holder, byte[] requestHash)
    {
        if (!holder.RequestHash.AsSpan().SequenceEqual(requestHash))
        {
            return Problems.Of(IdempotencyProblems.KeyReused,
                "This key already belongs to a request with another body or endpoint; use a new key for a new request.");
        }
        return holder.StatusCode is { } status
            ? new ReplayedResponse(status, holder.Location, holder.ResponseBody ?? "")
            : InUse();
    }

    private static ProblemHttpResult InUse() =>
        Problems.Of(IdempotencyProblems.KeyInUse, "Retry after the first request under this key has finished.");

    /// <summary>
    /// The handler has committed: its answer is kept whatever the client does now, because a retry under
    /// the same key must replay it rather than write a second time.
    /// </summary>
    private async Task<IResult> KeepAndAnswerAsync(HttpContext http, IResult result, byte[] keyHash, Guid lease)
    {
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
        var location = http.Response.Headers.Location.ToString() is { Length: > 0 } header ? header : null;
        try
        {
            using var timeout = new CancellationTokenSource(BookkeepingTimeout);
            if (!await store.CompleteAsync(keyHash, lease, http.Response.StatusCode, location, body, timeout.Token))
            {
                logger.LogWarning("An idempotent response was not kept: its reservation outlived the {Lease} lease and another " +
                                  "request took the key", IdempotencyExtensions.Lease);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException || DatabaseFailures.IsUnavailable(ex))
        {
            logger.LogWarning(ex, "An idempotent response could not be kept; a retry under its key after the {Lease} lease " +
                                  "will run the request again", IdempotencyExtensions.Lease);
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(realBody, http.RequestAborted);
        return Results.Empty;
    }

    // Runs to its end even when the request was aborted: the key must not stay reserved until the lease ends.
    private async Task ReleaseAsync(byte[] keyHash, Guid lease)
    {
        try
        {
            using var timeout = new CancellationTokenSource(BookkeepingTimeout);
            await store.ReleaseAsync(keyHash, lease, timeout.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException || DatabaseFailures.IsUnavailable(ex))
        {
            logger.LogWarning(ex, "Could not release an idempotency reservation; it expires with its {Lease} lease",
                IdempotencyExtensions.Lease);
        }
    }

    private static bool ChangedNothing(object? result) => result switch
    {
        INestedHttpResult nested => ChangedNothing(nested.Result),
        IValueHttpResult { Value: IMayChangeNothing { ChangedNothing: true } } => true,
        _ => false,
    };

    private static int? StatusOf(object? result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult withStatus => withStatus.StatusCode,
        _ => null,
    };

    /// <summary>
    /// The request as the handler saw it: the matched endpoint and its route values (not the raw path, so
    /// "/api/v1/links/" and "/API/V1/LINKS" are one request) and the parsed body (so formatting does not matter).
    /// </summary>
    private byte[] RequestHash(HttpContext http, TBody? body)
    {
        var endpoint = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value;
        var routeValues = http.Request.RouteValues.OrderBy(value => value.Key, StringComparer.Ordinal)
            .Select(value => $"{value.Key}={value.Value}");
        var route = Encoding.UTF8.GetBytes($"{http.Request.Method} {endpoint} {string.Join('&', routeValues)}\n");
        object? comparable = body is IHoldsSecrets holder ? holder.WithoutSecrets() : body;
        var canonical = JsonSerializer.SerializeToUtf8Bytes(comparable, comparable?.GetType() ?? typeof(object), json.Value.SerializerOptions);
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
            return httpContext.Response.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}

/// <summary>
/// The idempotency records in the control database. A record without a status is a reservation: the
/// request holding it runs, and its lease token lets only that request complete or release it.
/// </summary>
internal sealed class IdempotencyStore(Databases databases)
{
    internal sealed record Record(byte[] RequestHash, int? StatusCode, string? Location, string? ResponseBody);

    public async Task<bool> TryReserveAsync(byte[] keyHash, byte[] requestHash, Guid lease, DateTime now, CancellationToken ct)
    {
        // Frees the key when its response is past retention (the hourly purge may not have come yet) or
        // when its reservation's lease ran out because the process holding it died.
        const string deleteExpired = """
            DELETE FROM idempotency_records
            WHERE key_hash = @KeyHash
              AND (created_at < @RetentionCutoff
                   OR (status_code IS NULL AND (lease_expires_at IS NULL OR lease_expires_at < @Now)))
            """;
        await using var connection = await databases.OpenControlAsync(ct);
        if (await TryInsertAsync(connection, keyHash, requestHash, lease, now, ct))
        {
            return true;
        }
        var freed = await connection.ExecuteAsync(new CommandDefinition(deleteExpired,
            new { KeyHash = keyHash, RetentionCutoff = now - IdempotencyExtensions.Retention, Now = now }, cancellationToken: ct));
        return freed > 0 && await TryInsertAsync(connection, keyHash, requestHash, lease, now, ct);
    }

    private static async Task<bool> TryInsertAsync(MySqlConnection connection, byte[] keyHash, byte[] requestHash, Guid lease,
        DateTime now, CancellationToken ct)
    {
        const string insert = """
            INSERT INTO idempotency_records (key_hash, request_hash, lease_token, lease_expires_at, created_at)
            VALUES (@KeyHash, @RequestHash, @Lease, @LeaseExpiresAt, @Now)
            """;
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(insert, new
            {
                KeyHash = keyHash,
                RequestHash = requestHash,
                Lease = lease,
                LeaseExpiresAt = now + IdempotencyExtensions.Lease,
                Now = now,
            }, cancellationToken: ct));
            return true;
        }
        catch (MySqlException ex) when (ex.ErrorCode == MySqlErrorCode.DuplicateKeyEntry)
        {
            return false;
        }
    }

    public async Task<Record?> FindAsync(byte[] keyHash, CancellationToken ct)
    {
        const string select = """
            SELECT request_hash, status_code, location, response_body
            FROM idempotency_records WHERE key_hash = @KeyHash
            """;
        await using var connection = await databases.OpenControlAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Record>(
            new CommandDefinition(select, new { KeyHash = keyHash }, cancellationToken: ct));
    }

    /// <summary>Keeps the response; false when the lease was lost to another request in the meantime.</summary>
    public async Task<bool> CompleteAsync(byte[] keyHash, Guid lease, int status, string? location, string body, CancellationToken ct)
    {
        const string complete = """
            UPDATE idempotency_records
            SET status_code = @Status, location = @Location, response_body = @Body, lease_token = NULL, lease_expires_at = NULL
            WHERE key_hash = @KeyHash AND lease_token = @Lease
            """;
        await using var connection = await databases.OpenControlAsync(ct);
        return await connection.ExecuteAsync(new CommandDefinition(complete,
            new { Status = status, Location = location, Body = body, KeyHash = keyHash, Lease = lease }, cancellationToken: ct)) == 1;
    }

    public async Task ReleaseAsync(byte[] keyHash, Guid lease, CancellationToken ct)
    {
        const string delete = "DELETE FROM idempotency_records WHERE key_hash = @KeyHash AND lease_token = @Lease AND status_code IS NULL";
        await using var connection = await databases.OpenControlAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(delete, new { KeyHash = keyHash, Lease = lease }, cancellationToken: ct));
    }
}

/// <summary>Deletes idempotency records past their retention, in small batches, once an hour.</summary>
internal sealed class IdempotencyPurge(Databases databases, TimeProvider clock, Outages outages, ILogger<IdempotencyPurge> logger)
    : BackgroundService
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
            catch (Exception ex) when (DatabaseFailures.IsUnavailable(ex))
            {
                outages.Database.Failed(ex);
            }
            catch (MySqlException ex)
            {
                logger.LogWarning(ex, "Purging expired idempotency records failed; next try in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

/// <summary>
/// A request body with a secret in it (a link's password). The idempotency record keeps a hash of the request, and
/// a fast hash of a short password is a password found; so the request is compared with its secrets withheld.
/// </summary>
internal interface IHoldsSecrets
{
    const string Withheld = "(withheld)";

    object WithoutSecrets();
}
