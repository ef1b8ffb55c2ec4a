using System.Data;
using System.Text;
using Dapper;
using MySqlConnector;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Rows as SQL tuples with positional parameters, "(?, ?), (?, ?)", for multi-row VALUES lists and row-constructor
/// IN lists: one statement per batch instead of one per row. A statement takes its values from one instance, in the
/// order its tuples were appended, and cannot mix them with named parameters.
/// </summary>
/// <remarks>
/// Positional, not one named parameter per value through <see cref="DynamicParameters"/>: the visit writer sends
/// tens of thousands of values per batch, and naming each one (formatting the name, Dapper's bookkeeping of it,
/// MySqlConnector finding it again in the text) cost the worker more CPU than everything else it does per visit.
/// </remarks>
internal sealed class SqlRows : SqlMapper.IDynamicParameters
{
    private readonly List<object?> values = [];

    /// <summary>Appends the rows' values and returns their tuples, to be placed where the statement's text wants them.</summary>
    public string Tuples<T>(IReadOnlyList<T> rows, params Func<T, object?>[] columns)
    {
        var tuple = "(" + string.Join(", ", Enumerable.Repeat("?", columns.Length)) + ")";
        var text = new StringBuilder(rows.Count * (tuple.Length + 2));
        values.EnsureCapacity(values.Count + rows.Count * columns.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            text.Append(i == 0 ? "" : ",\n").Append(tuple);
            foreach (var column in columns)
            {
                values.Add(column(rows[i]));
            }
        }
        return text.ToString();
    }

    /// <summary>Appends the values and returns "?, ?, ?" for a single-column IN list.</summary>
    public string List<T>(IEnumerable<T> items)
    {
        var start = values.Count;
        foreach (var item in items)
        {
            values.Add(item);
        }
        return string.Join(", ", Enumerable.Repeat("?", values.Count - start));
    }

    void SqlMapper.IDynamicParameters.AddParameters(IDbCommand command, SqlMapper.Identity identity)
    {
        var parameters = ((MySqlCommand)command).Parameters;
        foreach (var value in values)
        {
            parameters.Add(new MySqlParameter { Value = value ?? DBNull.Value });
        }
    }
}
