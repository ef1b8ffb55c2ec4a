using NUnit.Framework;

namespace Shortlink.Tests.Support;

/// <summary>Waits for something another process or thread brings about, polling instead of sleeping a guessed time.</summary>
internal static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    /// <param name="circumstances">What the failure message should also tell, e.g. what the service logged meanwhile.</param>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? circumstances = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The condition did not hold within {(timeout ?? DefaultTimeout).TotalSeconds} s.{(circumstances is null ? "" : "\n" + circumstances())}");
            }
            await Task.Delay(Poll);
        }
    }

    /// <summary>Produces values until one is accepted, disposing the others, and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> produce, Func<T, bool> accept, TimeSpan? timeout = null)
        where T : IDisposable
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var value = await produce();
            if (accept(value))
            {
                return value;
            }
            value.Dispose();
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"No accepted value within {(timeout ?? DefaultTimeout).TotalSeconds} s.");
            }
            await Task.Delay(Poll);
        }
    }
}
