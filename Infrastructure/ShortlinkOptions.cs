using System.ComponentModel.DataAnnotations;

namespace Shortlink.Infrastructure;

internal sealed class ShortlinkOptions
{
    public const string Section = "Shortlink";

    /// <summary>Scheme, host and optional port under which short links are served, e.g. https://sho.rt.</summary>
    [Required, Url]
    public string PublicBaseUrl { get; set; } = "http://localhost:8080";

    [Required]
    public DatabaseOptions Database { get; set; } = new();

    [Required]
    public RedirectOptions Redirects { get; set; } = new();

    [Required]
    public ApiOptions Api { get; set; } = new();
}

internal sealed class DatabaseOptions
{
    [Required]
    public string ConnectionString { get; set; } = "";

    public bool MigrateOnStartup { get; set; } = true;
}

internal sealed class RedirectOptions
{
    [Range(0, 31_536_000)]
    public int PermanentMaxAgeSeconds { get; set; } = 3600;
}

internal sealed class ApiOptions
{
    /// <summary>Key for signing list cursors; all instances of one deployment must share it.</summary>
    public string CursorSigningKey { get; set; } = "";

    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    [Range(1024, 256 * 1024 * 1024)]
    public int MaxBulkBodyBytes { get; set; } = 4 * 1024 * 1024;
}
