using NUnit.Framework;

namespace Shortlink.Features.Redirects;

public sealed class QueryStringMergeTests
{
    [TestCase("https://t.example/p", "", "https://t.example/p")]
    [TestCase("https://t.example/p", "?", "https://t.example/p")]
    [TestCase("https://t.example/p", "?b=2", "https://t.example/p?b=2")]
    [TestCase("https://t.example/p?a=1", "?b=2", "https://t.example/p?a=1&b=2")]
    [TestCase("https://t.example/p?a=1", "?a=3&b=2", "https://t.example/p?a=1&a=3&b=2")]
    [TestCase("https://t.example/p?a=1#frag", "?b=2", "https://t.example/p?a=1&b=2#frag")]
    [TestCase("https://t.example/p#frag", "?b=2", "https://t.example/p?b=2#frag")]
    [TestCase("https://t.example/p?", "?b=2", "https://t.example/p?b=2")]
    [TestCase("https://t.example/p?a=1&", "?b=2", "https://t.example/p?a=1&b=2")]
    [TestCase("https://t.example/p", "?flag", "https://t.example/p?flag")]
    [TestCase("https://t.example/p", "?empty=", "https://t.example/p?empty=")]
    [TestCase("https://t.example/p", "?q=a+b", "https://t.example/p?q=a%20b")]
    [TestCase("https://t.example/p", "?q=%C3%A9t%C3%A9", "https://t.example/p?q=%C3%A9t%C3%A9")]
    [TestCase("https://t.example/p", "?q=caf%E9", "https://t.example/p?q=caf%E9")]
    [TestCase("https://t.example/p", "?q=caf%e9&r=%FF%00", "https://t.example/p?q=caf%e9&r=%FF%00")]
    [TestCase("https://t.example/p", "?q=100%&r=%4", "https://t.example/p?q=100%25&r=%254")]
    [TestCase("https://t.example/p", "?q=caf\u00e9", "https://t.example/p?q=caf%C3%A9")]
    [TestCase("https://t.example/p", "?emoji=\U0001F600", "https://t.example/p?emoji=%F0%9F%98%80")]
    [TestCase("https://t.example/p", "?x=<script>", "https://t.example/p?x=%3Cscript%3E")]
    [TestCase("https://t.example/p", "?a=1&&b=2", "https://t.example/p?a=1&b=2")]
    [TestCase("https://t.example/p", "?redirect=https://evil.example/", "https://t.example/p?redirect=https%3A%2F%2Fevil.example%2F")]
    [TestCase("https://t.example/p", "?a=%0d%0aSet-Cookie:x", "https://t.example/p?a=%0d%0aSet-Cookie%3Ax")]
    [TestCase("https://t.example/p", "?a=\r\nSet-Cookie:x", "https://t.example/p?a=%0D%0ASet-Cookie%3Ax")]
    [TestCase("https://t.example/p", "?eq=a=b", "https://t.example/p?eq=a%3Db")]
    public void Merges_incoming_parameters_after_the_targets(string target, string incoming, string expected) =>
        Assert.That(QueryStringMerge.Merge(target, incoming), Is.EqualTo(expected));
}
