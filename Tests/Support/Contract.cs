using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Shortlink.Tests.Support;

/// <summary>
/// The OpenAPI document as a checker: says what about an answer it does not declare (the status, the
/// content type, or for a problem its type), so that tests can drive an operation and hold it to its contract.
/// </summary>
internal sealed class Contract(JsonNode document)
{
    public static async Task<Contract> LoadAsync(HttpClient http) =>
        new(JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!);

    public IEnumerable<string> Undeclared(HttpMethod method, string template, HttpResponseMessage response, string body)
    {
        var where = $"{method} {template}";
        var operation = document["paths"]?[template]?[method.Method.ToLowerInvariant()];
        if (operation is null)
        {
            yield return $"{where}: no such operation in the document";
            yield break;
        }
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var declared = operation["responses"]?[status];
        if (declared is null)
        {
            yield return $"{where}: status {status} is not declared";
            yield break;
        }
        foreach (var header in Notable.Where(header =>
                     response.Headers.NonValidated.Contains(header) || response.Content.Headers.NonValidated.Contains(header)))
        {
            if (declared["headers"]?[header] is null)
            {
                yield return $"{where}: {status} sent the header {header}, which is not declared";
            }
        }
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (body.Length == 0)
        {
            yield break;
        }
        if (mediaType is null || declared["content"]?[mediaType] is null)
        {
            yield return $"{where}: {status} answered as {mediaType ?? "(no content type)"}, which is not declared";
            yield break;
        }
        if (mediaType == "application/problem+json")
        {
            var type = JsonNode.Parse(body)?["type"]?.GetValue<string>();
            var types = declared["x-problem-types"]?.AsArray().Select(t => t!.GetValue<string>()).ToList() ?? [];
            if (type is null || !types.Contains(type))
            {
                yield return $"{where}: {status} carried problem type {type ?? "(none)"}, declared: {string.Join(", ", types)}";
            }
        }
    }

    /// <summary>Headers that carry meaning for a client, so each response that sends one must declare it.</summary>
    private static readonly string[] Notable = ["Location", "Retry-After", "ETag", "Allow", "Idempotent-Replayed", "WWW-Authenticate"];

    /// <summary>The operations the document declares, as "METHOD /template".</summary>
    public IReadOnlyList<string> Operations =>
        document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(operation => $"{operation.Key.ToUpperInvariant()} {path.Key}"))
            .ToList();
}
