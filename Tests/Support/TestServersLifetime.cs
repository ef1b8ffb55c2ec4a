using NUnit.Framework;
using Shortlink.Tests.Support;

/// <summary>Outside any namespace, so it wraps every fixture of the assembly and stops the servers once at the end.</summary>
#pragma warning disable CA1050 // NUnit applies a setup fixture outside any namespace to the whole assembly.
[SetUpFixture]
public sealed class TestServersLifetime
{
    [OneTimeTearDown]
    public Task StopServers() => TestServers.StopAsync();
}
