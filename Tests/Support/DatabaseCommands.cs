using System.Diagnostics;
using MySqlConnector;

namespace Shortlink.Tests.Support;

/// <summary>
/// Counts the SQL commands run against one database, from MySqlConnector's own traces: a test can then
/// assert that a request asked the database nothing, rather than only that its answer looked right. With
/// <c>containing</c>, only commands whose text contains it count (e.g. the link lookup, not the blocklist's
/// refresh that runs every second in the background).
/// </summary>
internal sealed class DatabaseCommands : IDisposable
{
    private readonly string database;
    private readonly ActivityListener listener;
    private int executed;

    public DatabaseCommands(string connectionString, string? containing = null)
    {
        database = new MySqlConnectionStringBuilder(connectionString).Database;
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MySqlConnector",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == "Execute"
                    && (activity.GetTagItem("db.namespace") ?? activity.GetTagItem("db.name")) as string == database
                    && (containing is null
                        || ((activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) as string ?? "")
                            .Contains(containing, StringComparison.Ordinal)))
                {
                    Interlocked.Increment(ref executed);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    public int Executed => Volatile.Read(ref executed);

    public void Dispose() => listener.Dispose();
}
