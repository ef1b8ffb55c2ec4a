using Shortlink.Infrastructure;
using static Shortlink.Infrastructure.Data.DatabaseTime;

namespace Shortlink.Features.Links;

/// <summary>A row of <c>links</c>; column order matches <see cref="LinkSql.Columns"/> for Dapper.</summary>
internal sealed record LinkRow(
    Guid Id,
    string Domain,
    string Code,
    Guid OwnerId,
    string Url,
    string? Title,
    int RedirectType,
    bool ForwardQuery,
    DateTime? ValidFrom,
    DateTime? ExpiresAt,
    int? MaxVisits,
    long VisitCount,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    string? PasswordHash = null);

/// <summary>A link as the API shows it.</summary>
internal sealed record LinkResponse(
    string Code,
    string ShortUrl,
    string Url,
    string? Title,
    IReadOnlyList<string> Tags,
    int RedirectType,
    bool ForwardQuery,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ExpiresAt,
    int? MaxVisits,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool HasPassword)
{
    public static LinkResponse From(LinkRow row, IReadOnlyList<string> tags, ShortDomain domain) => new(
        row.Code,
        domain.ShortUrl(row.Code),
        row.Url,
        row.Title,
        tags,
        row.RedirectType,
        row.ForwardQuery,
        Utc(row.ValidFrom),
        Utc(row.ExpiresAt),
        row.MaxVisits,
        Utc(row.CreatedAt),
        Utc(row.UpdatedAt),
        row.PasswordHash is not null);

    public static string Location(string code) => $"/api/v1/links/{code}";

}
