using System.Text;
using Dapper;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Rows as SQL tuples with one parameter per value, "(@a0, @b0), (@a1, @b1)", for multi-row VALUES lists and
/// row-constructor IN lists: one statement per batch instead of one per row.
/// </summary>
internal static class SqlRows
{
    public static (string Tuples, DynamicParameters Parameters) Of<T>(IReadOnlyList<T> rows, params (string Name, Func<T, object?> Value)[] columns)
    {
        var tuples = new StringBuilder();
        var parameters = new DynamicParameters();
        for (var i = 0; i < rows.Count; i++)
        {
            tuples.Append(i == 0 ? "(" : ",\n(");
            for (var c = 0; c < columns.Length; c++)
            {
                var name = $"{columns[c].Name}{i}";
                tuples.Append(c == 0 ? "@" : ", @").Append(name);
                parameters.Add(name, columns[c].Value(rows[i]));
            }
            tuples.Append(')');
        }
        return (tuples.ToString(), parameters);
    }
}
