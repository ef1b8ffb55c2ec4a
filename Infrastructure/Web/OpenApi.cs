using NJsonSchema;
using NJsonSchema.Generation;
using NJsonSchema.Generation.TypeMappers;
using NSwag;
using NSwag.Generation.AspNetCore;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;
using NSwag.Generation.Processors.Security;

namespace Shortlink.Infrastructure.Web;

internal static class OpenApiExtensions
{
    public const string DocumentPath = "/openapi/{documentName}.json";
    private const string BearerScheme = "bearer";
    private const string HeaderScheme = "apiKey";

    public static IServiceCollection AddOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddOpenApiDocument(settings =>
        {
            settings.DocumentName = "v1";
            settings.Title = "Shortlink API";
            settings.Version = "v1";
            settings.Description = "Short links, their redirects and QR codes. Errors are RFC 9457 problem documents " +
                                   "with stable type URIs (urn:shortlink:problem:*); each error response lists its types in " +
                                   "x-problem-types. Kestrel refuses a few requests before the service sees them, with a " +
                                   "status and no body: 400 (a malformed request line or a NUL byte in the path), 414 (a " +
                                   "request line over 8 KiB) and 431 (headers over 32 KiB). A method that a path does not answer gets 405 " +
                                   "method-not-allowed with Allow.";
            settings.SchemaSettings.SchemaNameGenerator = new SliceSchemaNames();
            MapPatchFields(settings.SchemaSettings.TypeMappers);
            settings.SchemaSettings.SchemaProcessors.Add(new AlwaysPresentProperties());
            settings.SchemaSettings.SchemaProcessors.Add(new NonClearablePatchFields());
            settings.SchemaSettings.SchemaProcessors.Add(new ProblemDocuments());
            settings.DocumentProcessors.Add(new SecurityDefinitionAppender(BearerScheme, new OpenApiSecurityScheme
            {
                Type = OpenApiSecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (sl_live_…) as a bearer token.",
            }));
            settings.DocumentProcessors.Add(new SecurityDefinitionAppender(HeaderScheme, new OpenApiSecurityScheme
            {
                Type = OpenApiSecuritySchemeType.ApiKey,
                Name = Security.ApiKeyAuthentication.HeaderName,
                In = OpenApiSecurityApiKeyLocation.Header,
                Description = "The same API key in a header of its own.",
            }));
            settings.OperationProcessors.Add(new SecurityRequirementsProcessor());
            settings.OperationProcessors.Add(new RequestBodyProcessor());
            settings.OperationProcessors.Add(new RequestHeadersProcessor());
            settings.OperationProcessors.Add(new ResponsesProcessor());
            settings.OperationProcessors.Add(new ExamplesProcessor());
        });
        return services;
    }

    public static IApplicationBuilder UseOpenApiDocuments(this IApplicationBuilder app) =>
        app.UseOpenApi(settings =>
            {
                settings.Path = DocumentPath;
                // Clients are given their base URL; the document stays the same whichever host served it.
                settings.PostProcess = (document, _) => document.Servers.Clear();
            })
            .UseSwaggerUi(settings =>
            {
                settings.Path = "/swagger";
                settings.DocumentPath = DocumentPath;
            });

    /// <summary>An optional request header the endpoint reads, for the OpenAPI document.</summary>
    public static RouteHandlerBuilder WithRequestHeader(this RouteHandlerBuilder builder, string name, string description, int? maxLength = null) =>
        builder.WithMetadata(new RequestHeader(name, description, maxLength));

    /// <summary>Attaches request and success-response examples to an endpoint's OpenAPI operation.</summary>
    public static RouteHandlerBuilder WithExamples(this RouteHandlerBuilder builder, object? request = null, object? response = null) =>
        builder.WithMetadata(new OpenApiExamples(request, response));

    // A merge-patch field is the JSON value itself, or null to clear it; absent means unchanged.
    private static void MapPatchFields(ICollection<ITypeMapper> mappers)
    {
        static void Nullable(JsonSchema schema, JsonObjectType type, string? format = null)
        {
            schema.Type = type;
            schema.Format = format;
            schema.IsNullableRaw = true;
        }
        mappers.Add(new PrimitiveTypeMapper(typeof(Patch<string?>), s => Nullable(s, JsonObjectType.String)));
        mappers.Add(new PrimitiveTypeMapper(typeof(Patch<int?>), s => Nullable(s, JsonObjectType.Integer, "int32")));
        mappers.Add(new PrimitiveTypeMapper(typeof(Patch<bool?>), s => Nullable(s, JsonObjectType.Boolean)));
        mappers.Add(new PrimitiveTypeMapper(typeof(Patch<DateTimeOffset?>), s => Nullable(s, JsonObjectType.String, "date-time")));
        mappers.Add(new PrimitiveTypeMapper(typeof(Patch<IReadOnlyList<string>?>), s =>
        {
            Nullable(s, JsonObjectType.Array);
            s.Item = new JsonSchema { Type = JsonObjectType.String };
        }));
    }

    private sealed record OpenApiExamples(object? Request, object? Response);

    /// <summary>CreateLink.Request becomes CreateLinkRequest: slices nest their types under one name each.</summary>
    private sealed class SliceSchemaNames : DefaultSchemaNameGenerator
    {
        public override string Generate(Type type) =>
            type.IsNested && !type.IsGenericType
                ? type.DeclaringType!.Name + base.Generate(type)
                : base.Generate(type);
    }

    /// <summary>
    /// Responses always carry every field (null where empty), so each non-nullable field is marked
    /// required and generated clients get non-nullable members for them.
    /// </summary>
    private sealed class AlwaysPresentProperties : ISchemaProcessor
    {
        public void Process(SchemaProcessorContext context)
        {
            foreach (var property in context.Schema.Properties.Values)
            {
                if (!property.IsNullable(SchemaType.OpenApi3))
                {
                    property.IsRequired = true;
                }
            }
        }
    }

    private sealed class NonClearablePatchFields : ISchemaProcessor
    {
        public void Process(SchemaProcessorContext context)
        {
            foreach (var property in context.ContextualType.Type.GetProperties())
            {
                if (property.IsDefined(typeof(CannotBeClearedAttribute), inherit: false)
                    && context.Schema.Properties.TryGetValue(System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(property.Name), out var schema))
                {
                    schema.IsNullableRaw = false;
                }
            }
        }
    }

    /// <summary>The problem document as the service writes it: always a type, title, status, detail and trace id.</summary>
    private sealed class ProblemDocuments : ISchemaProcessor
    {
        public void Process(SchemaProcessorContext context)
        {
            if (context.ContextualType.Type != typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))
            {
                return;
            }
            var schema = context.Schema;
            schema.Description = "RFC 9457 problem details. Problem types may add fields of their own (slug-taken: slug).";
            schema.Properties.Remove("instance");
            foreach (var (name, property) in schema.Properties)
            {
                property.IsNullableRaw = false;
                property.IsRequired = true;
            }
            schema.Properties["traceId"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.String,
                IsRequired = true,
                Description = "The W3C trace id of the request, also in the service's logs.",
            };
            schema.Properties["errors"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.Object,
                Description = "validation-failed: the messages per field, named as in the JSON.",
                AdditionalPropertiesSchema = new JsonSchema { Type = JsonObjectType.Array, Item = new JsonSchema { Type = JsonObjectType.String } },
            };
            schema.Properties["path"] = new JsonSchemaProperty
            {
                Type = JsonObjectType.String,
                Description = "malformed-request: the JSON path of the offending value, e.g. $.items[3].expiresAt.",
            };
        }
    }

    /// <summary>
    /// Problem responses are application/problem+json (and text/html where a browser gets a page), list
    /// the problem types they carry in x-problem-types, and every response says what it means.
    /// </summary>
    private sealed class ResponsesProcessor : IOperationProcessor
    {
        public bool Process(OperationProcessorContext context)
        {
            var metadata = MetadataOf(context);
            var problemTypes = ProblemTypesOf(metadata);
            var htmlStatuses = metadata.OfType<HtmlPageResponses>().SelectMany(pages => pages.Statuses).ToHashSet();
            foreach (var (status, response) in context.OperationDescription.Operation.Responses)
            {
                var code = int.Parse(status, System.Globalization.CultureInfo.InvariantCulture);
                if (code >= 400 && response.Content.Remove("application/json", out var problem))
                {
                    response.Content["application/problem+json"] = problem;
                }
                if (htmlStatuses.Contains(code))
                {
                    response.Content["text/html"] = new OpenApiMediaType { Schema = new JsonSchema { Type = JsonObjectType.String } };
                }
                // A success may also come as a file (the visits as text/csv beside their JSON pages).
                if (response.Content.Count == 0 || code < 300)
                {
                    var contentTypes = metadata.OfType<Microsoft.AspNetCore.Http.Metadata.IProducesResponseTypeMetadata>()
                        .Where(produces => produces.StatusCode == code)
                        .SelectMany(produces => produces.ContentTypes)
                        .Where(contentType => !response.Content.ContainsKey(contentType));
                    foreach (var contentType in contentTypes)
                    {
                        response.Content[contentType] = new OpenApiMediaType
                        {
                            Schema = new JsonSchema { Type = JsonObjectType.String, Format = "binary" },
                        };
                    }
                }
                foreach (var header in metadata.OfType<ResponseHeader>().Where(header => header.Status == code))
                {
                    response.Headers[header.Name] = new OpenApiHeader
                    {
                        Description = header.Description,
                        Schema = new JsonSchema { Type = JsonObjectType.String },
                    };
                }
                var types = problemTypes.Where(type => type.Status == code).Select(type => type.Uri).ToList();
                if (types.Count > 0)
                {
                    response.ExtensionData ??= new Dictionary<string, object?>();
                    response.ExtensionData["x-problem-types"] = types;
                }
                if (string.IsNullOrEmpty(response.Description))
                {
                    response.Description = Describe(code) + (types.Count > 0 ? "; type " + string.Join(" or ", types) : "");
                }
            }
            // A group's declarations come first in the metadata; readers expect responses in status order.
            var responses = context.OperationDescription.Operation.Responses;
            var inStatusOrder = responses.OrderBy(response => response.Key, StringComparer.Ordinal).ToList();
            responses.Clear();
            foreach (var (status, response) in inStatusOrder)
            {
                responses[status] = response;
            }
            return true;
        }

        private static string Describe(int status) => status switch
        {
            200 => "OK",
            201 => "Created; Location names the new resource",
            204 => "Done; no content",
            301 or 302 or 307 or 308 => "Redirect; Location is the target",
            303 => "See other: the password was right; Location is the target, to GET",
            304 => "Not modified: the If-None-Match ETag still matches",
            400 => "The request is not valid",
            404 => "Not found",
            405 => "Method not allowed",
            408 => "The request body did not arrive in time",
            409 => "Conflict",
            410 => "Gone: expired or visit limit reached",
            413 => "The body exceeds the endpoint's size limit",
            415 => "The body is not JSON",
            422 => "The Idempotency-Key was used for a different request",
            500 => "A bug; quote the traceId",
            503 => "The database or the API queue is saturated or down; retry after Retry-After seconds",
            _ => $"HTTP {status}",
        };
    }

    private static IList<object> MetadataOf(OperationProcessorContext context) =>
        context is AspNetCoreOperationProcessorContext aspNet ? aspNet.ApiDescription.ActionDescriptor.EndpointMetadata : [];

    /// <summary>Declared types in the order they were declared (a group's first), without repeats.</summary>
    private static List<ProblemType> ProblemTypesOf(IList<object> metadata) =>
        metadata.OfType<ProblemResponses>().SelectMany(declared => declared.Types).Distinct().ToList();

    /// <summary>An endpoint that requires authorization takes the key either way; the others are public.</summary>
    private sealed class SecurityRequirementsProcessor : IOperationProcessor
    {
        public bool Process(OperationProcessorContext context)
        {
            if (MetadataOf(context).OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any())
            {
                context.OperationDescription.Operation.Security =
                [
                    new OpenApiSecurityRequirement { [BearerScheme] = [] },
                    new OpenApiSecurityRequirement { [HeaderScheme] = [] },
                ];
            }
            return true;
        }
    }

    /// <summary>The body's media types are the ones the endpoint declares last (PATCH: merge-patch and plain JSON).</summary>
    private sealed class RequestBodyProcessor : IOperationProcessor
    {
        public bool Process(OperationProcessorContext context)
        {
            var body = context.OperationDescription.Operation.RequestBody;
            if (body is not null && body.Content.Count > 0
                && MetadataOf(context).OfType<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>().LastOrDefault() is { ContentTypes.Count: > 0 } accepts)
            {
                var schema = body.Content.Values.First().Schema;
                body.Content.Clear();
                foreach (var contentType in accepts.ContentTypes)
                {
                    body.Content[contentType] = new OpenApiMediaType { Schema = schema };
                }
            }
            return true;
        }
    }

    private sealed class RequestHeadersProcessor : IOperationProcessor
    {
        public bool Process(OperationProcessorContext context)
        {
            foreach (var header in MetadataOf(context).OfType<RequestHeader>())
            {
                context.OperationDescription.Operation.Parameters.Add(new OpenApiParameter
                {
                    Name = header.Name,
                    Kind = OpenApiParameterKind.Header,
                    IsRequired = false,
                    Description = header.Description,
                    Schema = new JsonSchema { Type = JsonObjectType.String, MaxLength = header.MaxLength },
                });
            }
            return true;
        }
    }

    private sealed class ExamplesProcessor : IOperationProcessor
    {
        public bool Process(OperationProcessorContext context)
        {
            var operation = context.OperationDescription.Operation;
            if (context is AspNetCoreOperationProcessorContext aspNet
                && aspNet.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<OpenApiExamples>().LastOrDefault() is { } examples)
            {
                if (examples.Request is not null && operation.RequestBody is not null)
                {
                    foreach (var media in operation.RequestBody.Content.Values)
                    {
                        media.Example = examples.Request;
                    }
                }
                if (examples.Response is not null)
                {
                    foreach (var response in operation.Responses.Where(r => r.Key.StartsWith('2')))
                    {
                        foreach (var media in response.Value.Content.Values)
                        {
                            media.Example = examples.Response;
                        }
                    }
                }
            }
            var problemTypes = ProblemTypesOf(MetadataOf(context));
            foreach (var (status, response) in operation.Responses)
            {
                if (int.TryParse(status, out var code) && code >= 400
                    && response.Content.TryGetValue("application/problem+json", out var media)
                    && (code == CommonProblems.ValidationFailed.Status && problemTypes.Contains(CommonProblems.ValidationFailed)
                        ? CommonProblems.ValidationFailed
                        : problemTypes.FirstOrDefault(type => type.Status == code)) is { } type)
                {
                    media.Example ??= ProblemExample(type);
                }
            }
            return true;
        }

        private static object ProblemExample(ProblemType type) => type == CommonProblems.ValidationFailed
            ? new
            {
                type = type.Uri,
                title = type.Title,
                status = type.Status,
                detail = "One or more fields failed validation; see errors.",
                errors = new Dictionary<string, string[]> { ["url"] = ["The URL must be absolute and start with http:// or https://."] },
                traceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            }
            : new
            {
                type = type.Uri,
                title = type.Title,
                status = type.Status,
                detail = "What went wrong, in words a client developer can act on.",
                traceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            };
    }
}

internal sealed record RequestHeader(string Name, string Description, int? MaxLength);
