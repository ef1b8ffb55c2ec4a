using NUnit.Framework;

namespace Shortlink.Infrastructure.Web;

public sealed class HealthProbeTests
{
    [TestCase("http://+:8080", null, "http://127.0.0.1:8080")]
    [TestCase("http://*:8080;https://*:8443", null, "http://127.0.0.1:8080")]
    [TestCase("http://0.0.0.0:5000/", null, "http://127.0.0.1:5000")]
    [TestCase("http://[::]:8080", null, "http://127.0.0.1:8080")]
    [TestCase("http://localhost:8080", null, "http://127.0.0.1:8080")]
    [TestCase("http://127.0.0.1:18090", null, "http://127.0.0.1:18090")]
    [TestCase("http://10.1.2.3:80", null, "http://10.1.2.3:80")]
    [TestCase(null, "8081;8082", "http://127.0.0.1:8081")]
    [TestCase(null, null, "http://127.0.0.1:5000")]
    public void The_probe_asks_the_first_address_kestrel_listens_on(string? urls, string? httpPorts, string expected) =>
        Assert.That(HealthProbe.LocalUrl(urls, httpPorts), Is.EqualTo(expected));
}
