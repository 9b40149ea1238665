using System.Diagnostics;

namespace Kv.Node.Resp;

/// <summary>
/// Per-command counters for INFO commandstats: calls, time spent in the handler, refused and failed calls.
/// </summary>
/// <remarks>
/// Thread-safe. Every connection's loop counts its own commands at once, so the counters are striped: a thread adds to
/// the stripe its managed thread id picks (interlocked, but another thread rarely touches that cache line), and a read
/// sums the stripes. Each command's four counters take one 64-byte line of a stripe. Commands are found by
/// <see cref="CommandDefinition.Ordinal"/>, which the definitions take process-wide as they are created; the arrays
/// grow (under a lock, rarely) when a later-created definition shows up.
/// </remarks>
public sealed class CommandStatistics
{
    private const int Stripes = 16; // a power of two
    private const int Stride = 8;   // longs per command: calls, ticks, rejected, failed, padding to 64 bytes
    private const int Calls = 0, Ticks = 1, Rejected = 2, Failed = 3;
    private long[][] _stripes = NewStripes(CommandDefinition.Created);
    private readonly object _growLock = new();

    private static long[][] NewStripes(int commands)
    {
        var stripes = new long[Stripes][];
        for (var i = 0; i < Stripes; i++) stripes[i] = new long[Math.Max(commands, 1) * Stride];
        return stripes;
    }

    /// <summary>The handler of <paramref name="command"/> ran for <paramref name="elapsedTicks"/> (<see cref="Stopwatch"/> ticks).</summary>
    public void CountCall(CommandDefinition command, long elapsedTicks)
    {
        var line = Line(command, out var at);
        Interlocked.Increment(ref line[at + Calls]);
        Interlocked.Add(ref line[at + Ticks], elapsedTicks);
    }

    /// <summary>The request was refused before its handler ran (arity, authentication, permission).</summary>
    public void CountRejected(CommandDefinition command)
    {
        var line = Line(command, out var at);
        Interlocked.Increment(ref line[at + Rejected]);
    }

    /// <summary>The handler failed on the server (an error reply written for it by the dispatcher).</summary>
    public void CountFailed(CommandDefinition command)
    {
        var line = Line(command, out var at);
        Interlocked.Increment(ref line[at + Failed]);
    }

    private long[] Line(CommandDefinition command, out int at)
    {
        at = command.Ordinal * Stride;
        var stripe = _stripes[Environment.CurrentManagedThreadId & (Stripes - 1)];
        return at < stripe.Length ? stripe : Grow(command)[Environment.CurrentManagedThreadId & (Stripes - 1)];
    }

    private long[][] Grow(CommandDefinition command)
    {
        lock (_growLock)
        {
            var current = _stripes;
            if (command.Ordinal * Stride < current[0].Length) return current;
            var grown = new long[Stripes][];
            var length = Math.Max(CommandDefinition.Created, command.Ordinal + 1) * Stride;
            for (var i = 0; i < Stripes; i++)
            {
                grown[i] = new long[length];
                // counts added to the old arrays meanwhile are lost: only a definition created after this object (a
                // test's) makes it grow, and only counts racing with that grow go missing
                Array.Copy(current[i], grown[i], current[i].Length);
            }
            Volatile.Write(ref _stripes, grown);
            return grown;
        }
    }

    /// <summary>CONFIG RESETSTAT: every command's counters back to 0 (a count racing with it may survive or be dropped).</summary>
    public void Reset()
    {
        foreach (var stripe in Volatile.Read(ref _stripes))
        {
            for (var i = 0; i < stripe.Length; i++) Interlocked.Exchange(ref stripe[i], 0);
        }
    }

    /// <summary>One command's totals.</summary>
    public readonly record struct Totals(long Calls, TimeSpan Time, long Rejected, long Failed);

    /// <summary>The totals of <paramref name="command"/> (zeros if it never ran here).</summary>
    public Totals Get(CommandDefinition command)
    {
        var at = command.Ordinal * Stride;
        long calls = 0, ticks = 0, rejected = 0, failed = 0;
        foreach (var stripe in Volatile.Read(ref _stripes))
        {
            if (at >= stripe.Length) break;
            calls += Volatile.Read(ref stripe[at + Calls]);
            ticks += Volatile.Read(ref stripe[at + Ticks]);
            rejected += Volatile.Read(ref stripe[at + Rejected]);
            failed += Volatile.Read(ref stripe[at + Failed]);
        }
        return new Totals(calls, Stopwatch.GetElapsedTime(0, ticks), rejected, failed);
    }
}
