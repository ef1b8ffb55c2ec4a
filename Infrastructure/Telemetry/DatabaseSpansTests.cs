using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MySqlConnector;
using NSubstitute;
using NUnit.Framework;
using Shortlink.Infrastructure.Data;

namespace Shortlink.Infrastructure.Telemetry;

public sealed class DatabaseSpansTests
{
    private const string Primary = "Server=db-0;Port=3306;User ID=shortlink;Database=shortlink";
    private const string Replica = "Server=db-0-replica;Port=3306;User ID=shortlink;Database=shortlink";
    private const string ShardOne = "Server=db-1;Port=3307;User ID=shortlink;Database=shortlink";
    private const string Control = "Server=control;Port=3306;User ID=shortlink;Database=control";

    private static readonly ActivitySource MySqlConnectorSource = new("MySqlConnector");

    private ActivityListener listener = null!;
    private DatabaseSpans spans = null!;

    [SetUp]
    public void Listen()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MySqlConnector",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var options = Options.Create(new ShortlinkOptions
        {
            Database =
            {
                ConnectionString = Primary,
                Replicas = { Replica },
                Shards = { [1] = new ShardOptions { ConnectionString = ShardOne } },
            },
        });
        var meters = Substitute.For<IMeterFactory>();
        meters.Create(Arg.Any<MeterOptions>()).Returns(call => new Meter(call.Arg<MeterOptions>()));
        spans = new DatabaseSpans(new ShardSet(new MySqlDataSource(Primary), options, NullLoggerFactory.Instance, meters),
            new ControlDatabase(new MySqlDataSource(Control)));
    }

    [TearDown]
    public void StopListening()
    {
        listener.Dispose();
        spans.Dispose();
    }

    [TestCase(Primary, 0, "primary", "shard0-primary")]
    [TestCase(Replica, 0, "replica", "shard0-replica0")]
    [TestCase(ShardOne, 1, "primary", "shard1-primary")]
    public void A_query_span_names_its_shard_and_role_instead_of_its_connection_string(string connectionString, int shard, string role, string pool)
    {
        var span = Ended(connectionString);
        Assert.Multiple(() =>
        {
            Assert.That(span.GetTagItem(DatabaseSpans.ShardTag), Is.EqualTo(shard));
            Assert.That(span.GetTagItem(DatabaseSpans.RoleTag), Is.EqualTo(role));
            Assert.That(span.GetTagItem(DatabaseSpans.PoolTag), Is.EqualTo(pool));
            Assert.That(span.GetTagItem("db.connection_string"), Is.Null);
        });
    }

    [Test]
    public void The_control_database_belongs_to_no_shard()
    {
        var span = Ended(Control);
        Assert.Multiple(() =>
        {
            Assert.That(span.GetTagItem(DatabaseSpans.ShardTag), Is.Null);
            Assert.That(span.GetTagItem(DatabaseSpans.RoleTag), Is.EqualTo("control"));
        });
    }

    [Test]
    public void A_database_the_service_was_not_given_is_left_as_it_is()
    {
        var span = Ended("Server=elsewhere;Database=other");
        Assert.That(span.GetTagItem("db.connection_string"), Is.EqualTo("Server=elsewhere;Database=other"));
    }

    /// <summary>A span as MySqlConnector leaves it: its connection string (without the password) among its tags.</summary>
    private Activity Ended(string connectionString)
    {
        using var span = MySqlConnectorSource.StartActivity("Execute", ActivityKind.Client)!;
        span.SetTag("db.connection_string", connectionString);
        span.Stop();
        spans.OnEnd(span);
        return span;
    }
}
