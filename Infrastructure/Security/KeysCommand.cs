using Dapper;
using Microsoft.Extensions.Options;
using Shortlink.Infrastructure.Data;

namespace Shortlink.Infrastructure.Security;

/// <summary>
/// <c>dotnet Shortlink.dll keys create --role admin --name NAME [--owner-id ID] [--expires-at 2027-01-01T00:00:00Z]</c>:
/// creates a key (the first admin key, typically) and prints it, alone, on stdout, this once. Logs go to stderr.
/// </summary>
internal static class KeysCommand
{
    private const string Usage =
        "usage: keys create --role admin|member|readonly --name NAME [--owner-id OWNER_ID] [--expires-at DATE_TIME_WITH_OFFSET]";

    public static async Task<int> RunAsync(IServiceProvider services, string[] args)
    {
        if (args is not ["keys", "create", .. var options] || !TryParse(options, out var role, out var name, out var ownerId, out var expiresAt))
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }
        var clock = services.GetRequiredService<TimeProvider>();
        if (expiresAt <= clock.GetUtcNow())
        {
            await Console.Error.WriteLineAsync("keys: --expires-at must be in the future");
            return 2;
        }
        if (services.GetRequiredService<IOptions<ShortlinkOptions>>().Value.Database.MigrateOnStartup)
        {
            await services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
        }
        await using var connection = await services.GetRequiredService<Databases>().OpenControlAsync(CancellationToken.None);
        if (ownerId is not null && await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM owners WHERE id = @ownerId", new { ownerId }) == 0)
        {
            await Console.Error.WriteLineAsync($"keys: no owner has the id {ownerId}");
            return 2;
        }
        var key = ApiKeyFormat.NewKey();
        var stored = await services.GetRequiredService<ApiKeyStore>()
            .CreateAsync(key, name!, role!, ownerId, expiresAt, connection, CancellationToken.None);
        await Console.Out.WriteLineAsync(key);
        await Console.Error.WriteLineAsync(
            $"keys: created the {role} key {stored.Prefix}… (id {stored.Id}, owner {stored.OwnerId}); keep it now, it is not shown again");
        return 0;
    }

    private static bool TryParse(string[] options, out string? role, out string? name, out Guid? ownerId, out DateTimeOffset? expiresAt)
    {
        role = name = null;
        ownerId = null;
        expiresAt = null;
        for (var i = 0; i + 1 < options.Length; i += 2)
        {
            var value = options[i + 1];
            switch (options[i])
            {
                case "--role" when ApiRoles.All.Contains(value):
                    role = value;
                    break;
                case "--name" when value.Trim().Length is > 0 and <= 200:
                    name = value.Trim();
                    break;
                case "--owner-id" when Guid.TryParse(value, out var owner):
                    ownerId = owner;
                    break;
                case "--expires-at" when DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.None, out var expiry) && Web.OffsetDateTimeConverter.HasExplicitOffset(value):
                    expiresAt = expiry;
                    break;
                default:
                    return false;
            }
        }
        return options.Length % 2 == 0 && role is not null && name is not null;
    }
}
