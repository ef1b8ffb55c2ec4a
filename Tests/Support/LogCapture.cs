using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Shortlink.Tests.Support;

/// <summary>Every log event the service writes, as the service's Serilog pipeline sees it (levels, properties).</summary>
internal sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> events = new();

    public IReadOnlyList<LogEvent> Events => events.ToArray();

    public void Emit(LogEvent logEvent) => events.Enqueue(logEvent);

    /// <summary>The request log lines (one per request, from the request logging middleware).</summary>
    public IReadOnlyList<LogEvent> Requests => Events.Where(e => e.Properties.ContainsKey("RouteTemplate") && e.Properties.ContainsKey("StatusCode")).ToList();

    public static int StatusOf(LogEvent request) => (int)((ScalarValue)request.Properties["StatusCode"]).Value!;

    public static string? StringOf(LogEvent logEvent, string property) =>
        logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: var scalar } ? scalar?.ToString() : null;

    public void Clear() => events.Clear();
}
