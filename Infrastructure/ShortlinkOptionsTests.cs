using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using Shortlink.Tests.Support;

namespace Shortlink.Infrastructure;

public sealed class ShortlinkOptionsTests
{
    private static ValidateOptionsResult Validate(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>($"Shortlink:{s.Key}", s.Value)))
            .Build();
        var options = new ShortlinkOptions { Database = { ConnectionString = "Server=127.0.0.1;Database=shortlink" } };
        configuration.GetSection(ShortlinkOptions.Section).Bind(options);
        return new ShortlinkOptionsValidator().Validate(Options.DefaultName, options);
    }

    [Test]
    public void The_defaults_are_valid() => Assert.That(Validate().Succeeded, Is.True, Validate().FailureMessage);

    [TestCase("Api:MaxBodyBytes", "5", "MaxBodyBytes")]
    [TestCase("Api:MaxBulkBodyBytes", "0", "MaxBulkBodyBytes")]
    [TestCase("Api:MaxConcurrentRequests", "0", "MaxConcurrentRequests")]
    [TestCase("Api:MaxQueuedRequests", "-1", "MaxQueuedRequests")]
    [TestCase("Redirects:PermanentMaxAgeSeconds", "-1", "PermanentMaxAgeSeconds")]
    [TestCase("Database:ConnectionString", "", "ConnectionString")]
    [TestCase("PublicBaseUrl", "not a url", "PublicBaseUrl")]
    [TestCase("Visits:RetentionDays", "-1", "RetentionDays")]
    [TestCase("Database:MaxReplicaLagSeconds", "0", "MaxReplicaLagSeconds")]
    [TestCase("Database:HeartbeatMilliseconds", "10", "HeartbeatMilliseconds")]
    [TestCase("Database:HeartbeatMilliseconds", "1500", "HeartbeatMilliseconds")]
    [TestCase("Database:Replicas:0", "no=such;setting=here", "Database:Replicas:0")]
    [TestCase("Database:Replicas:0", "User ID=shortlink", "Database:Replicas:0")]
    [TestCase("Database:ControlConnectionString", "no=such;setting=here", "ControlConnectionString")]
    [TestCase("Database:Shards:1:ConnectionString", "User ID=shortlink", "Database:Shards:1:ConnectionString")]
    [TestCase("Database:Shards:3:ConnectionString", "no=such;setting=here", "Database:Shards:3:ConnectionString")]

    [TestCase("Database:Shards:0:ConnectionString", "Server=shard-0", "numbered from 1")]
    public void A_bad_value_in_any_section_fails_naming_the_key(string key, string value, string named)
    {
        var result = Validate((key, value));
        Assert.Multiple(() =>
        {
            Assert.That(result.Failed, Is.True);
            Assert.That(result.FailureMessage, Does.Contain(named));
        });
    }

    [Test]
    public void A_shard_with_an_empty_connection_string_is_no_shard_but_a_bad_or_orphaned_replica_is_named()
    {
        var badReplica = Validate(("Database:Shards:2:ConnectionString", "Server=shard-2"), ("Database:Shards:2:Replicas:0", "no=such;setting=here"));
        var orphan = Validate(("Database:Shards:2:Replicas:0", "Server=replica-2"));
        Assert.Multiple(() =>
        {
            Assert.That(Validate(("Database:Shards:1:ConnectionString", "")).Succeeded, Is.True);
            Assert.That(badReplica.FailureMessage, Does.Contain("Database:Shards:2:Replicas:0"));
            Assert.That(orphan.FailureMessage, Does.Contain("Database:Shards:2 has replicas but no ConnectionString"));
        });
    }

    [TestCase("All", false, true, true)]
    [TestCase("All", false, false, false)]
    [TestCase("Api", false, true, true)]
    [TestCase("All", true, false, true)]
    [TestCase("Worker", true, false, true)]
    [TestCase("Api", true, true, false)]
    public void Visits_are_written_by_workers_or_without_rabbitmq_by_the_instances_that_record_them(string role, bool queued,
        bool recording, bool writes)
    {
        var options = new ShortlinkOptions
        {
            Role = Enum.Parse<ServiceRole>(role),
            RabbitMq = { ConnectionString = queued ? "amqp://shortlink:secret@127.0.0.1:5673/shortlink" : "" },
            Visits = { Enabled = recording },
        };
        Assert.That(options.WritesVisits, Is.EqualTo(writes));
    }

    [Test]
    public void The_api_may_not_take_every_pooled_connection()
    {
        var result = Validate(("Database:ConnectionString", "Server=127.0.0.1;Database=shortlink;Maximum Pool Size=20"),
            ("Api:MaxConcurrentRequests", "20"));
        Assert.Multiple(() =>
        {
            Assert.That(result.Failed, Is.True);
            Assert.That(result.FailureMessage, Does.Contain("Maximum Pool Size=20"));
        });
    }

    [Test]
    public void A_bad_nested_value_stops_the_service_at_start()
    {
        using var app = new ShortlinkApp("Server=127.0.0.1;Port=1;User ID=nobody;Password=x;Database=none;Connection Timeout=1",
            new Dictionary<string, string?>
            {
                ["Shortlink:Database:MigrateOnStartup"] = "false",
                ["Shortlink:Api:MaxBodyBytes"] = "5",
            });
        var failure = Assert.Throws<OptionsValidationException>(() => app.CreateClient());
        Assert.That(failure!.Message, Does.Contain("MaxBodyBytes"));
    }
}
