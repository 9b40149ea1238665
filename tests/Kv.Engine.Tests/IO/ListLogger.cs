using Microsoft.Extensions.Logging;

namespace Kv.Engine.Tests.IO;

/// <summary>Collects formatted log lines (level and message) for assertions. Thread-safe.</summary>
public sealed class ListLogger : ILogger, ILoggerFactory
{
    private readonly List<(LogLevel Level, string Message)> _lines = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Lines
    {
        get { lock (_lines) return [.. _lines]; }
    }

    public bool Contains(LogLevel level, string fragment)
    {
        lock (_lines) return _lines.Exists(l => l.Level == level && l.Message.Contains(fragment, StringComparison.Ordinal));
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines) _lines.Add((logLevel, formatter(state, exception)));
    }

    public ILogger CreateLogger(string categoryName) => this;
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }
}
