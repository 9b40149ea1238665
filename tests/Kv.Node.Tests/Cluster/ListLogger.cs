using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Tests.Cluster;

/// <summary>Keeps every formatted log line so tests can check that a failure was reported clearly.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));

    public bool Contains(LogLevel level, string text)
    {
        foreach (var (l, m) in Entries)
            if (l == level && m.Contains(text, StringComparison.Ordinal)) return true;
        return false;
    }
}
