using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;
using MySqlConnector;

namespace Shortlink.Infrastructure.Security;

/// <summary>
/// Keeps ASP.NET Core's data-protection key ring in the control database, so that every instance signs and
/// reads anti-forgery tokens with the same keys: a password form served by one instance can be posted to
/// another. The framework reads the ring rarely (at start and about once a day) and caches it, so the
/// synchronous interface costs nothing on a request path.
/// </summary>
internal sealed class DatabaseKeyRing(MySqlDataSource dataSource, TimeProvider clock) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        const string sql = "SELECT xml FROM data_protection_keys ORDER BY created_at, name";
        using var connection = dataSource.OpenConnection();
        return connection.Query<string>(sql).Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        const string sql = "INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@Name, @Xml, @CreatedAt)";
        using var connection = dataSource.OpenConnection();
        connection.Execute(sql, new
        {
            Name = friendlyName,
            Xml = element.ToString(SaveOptions.DisableFormatting),
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        });
    }
}
