using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Kv.Protocol.Resp;

namespace Kv.Node.Resp;

/// <summary>
/// Redis's slow log: the latest <c>slowlog-max-len</c> commands whose execution took at least
/// <c>slowlog-log-slower-than</c> microseconds, read with SLOWLOG GET (newest first). One per <see cref="RespServer"/>.
/// </summary>
/// <remarks>
/// Threading: every connection's loop times its own commands at once (<see cref="Enabled"/>, <see cref="Observe"/>).
/// The settings are immutable after construction, so timing a command under the threshold reads two timestamps and
/// compares, touching nothing shared and allocating nothing. Only a command at or over the threshold builds an entry,
/// copying its arguments (the connection reuses the request's buffer), and takes <see cref="_lock"/>, which guards the
/// ring (<see cref="_entries"/>, <see cref="_next"/>, <see cref="_count"/>) and the id counter <see cref="_nextId"/>.
/// Entries are immutable: readers copy references under the lock and write their reply outside it.
/// An entry keeps at most <see cref="MaxArguments"/> arguments, the last replaced by "... (N more arguments)", and at
/// most <see cref="MaxArgumentBytes"/> bytes of each, the rest replaced by "... (N more bytes)"; AUTH's arguments and
/// HELLO's AUTH user and password are logged as "(redacted)". All three as in Redis 7.
/// </remarks>
public sealed class Slowlog
{
    /// <summary>Arguments an entry keeps, the command's name included (Redis's SLOWLOG_ENTRY_MAX_ARGC).</summary>
    public const int MaxArguments = 32;

    /// <summary>Bytes an entry keeps of one argument (Redis's SLOWLOG_ENTRY_MAX_STRING).</summary>
    public const int MaxArgumentBytes = 128;

    private static readonly byte[] Redacted = "(redacted)"u8.ToArray();

    private readonly long _thresholdTicks; // slowlog-log-slower-than in Stopwatch ticks, rounded up
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private SlowlogEntry[] _entries = []; // a ring, grown on demand up to MaxLength
    private int _next;                     // where the next entry goes; the oldest when the ring is full
    private int _count;
    private long _nextId;

    /// <param name="slowerThanMicros">Log commands that took at least this long; 0 logs every command, a negative value none.</param>
    /// <param name="maxLength">Entries kept; 0 keeps none.</param>
    /// <param name="time">The clock of the entries' Unix times (the server's).</param>
    public Slowlog(long slowerThanMicros, int maxLength, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        MaxLength = maxLength;
        Enabled = slowerThanMicros >= 0 && maxLength > 0;
        _time = time;
        _thresholdTicks = !Enabled ? long.MaxValue
            : (long)Int128.Min(((Int128)slowerThanMicros * Stopwatch.Frequency + 999_999) / 1_000_000, long.MaxValue);
    }

    /// <summary>Entries kept at most (slowlog-max-len).</summary>
    public int MaxLength { get; }

    /// <summary>Whether commands are timed at all (a non-negative threshold and room for an entry).</summary>
    public bool Enabled { get; }

    /// <summary>The entries held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _count;
        }
    }

    /// <summary>
    /// The end of a command whose handler took <paramref name="elapsedTicks"/> (<see cref="Stopwatch"/> ticks, from just
    /// before it ran); logs it when it took at least the threshold. Call only when <see cref="Enabled"/>, from the
    /// connection's loop while its request is still current.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Observe(CommandContext context, CommandDefinition command, long elapsedTicks)
    {
        if (elapsedTicks >= _thresholdTicks) Add(context, command, elapsedTicks);
    }

    /// <summary>The <paramref name="count"/> newest entries (fewer if the log holds fewer), newest first.</summary>
    public SlowlogEntry[] Newest(long count)
    {
        lock (_lock)
        {
            var n = (int)Math.Min(count, _count);
            var newest = new SlowlogEntry[n];
            for (var i = 0; i < n; i++) newest[i] = _entries[(_next - 1 - i + _entries.Length) % _entries.Length];
            return newest;
        }
    }

    /// <summary>SLOWLOG RESET: drops every entry (ids go on from where they were, as in Redis).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _entries = [];
            _next = 0;
            _count = 0;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Add(CommandContext context, CommandDefinition command, long elapsedTicks)
    {
        var micros = (long)((Int128)elapsedTicks * 1_000_000 / Stopwatch.Frequency);
        var arguments = CopyArguments(context.Request, command);
        var address = context.RemoteEndPoint?.ToString() ?? "";
        var name = context.Name ?? "";
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            if (_count == _entries.Length && _entries.Length < MaxLength) Grow();
            _entries[_next] = new SlowlogEntry(_nextId++, now, micros, arguments, address, name);
            _next = (_next + 1) % _entries.Length;
            if (_count < _entries.Length) _count++;
        }
    }

    /// <summary>Doubles the full ring, up to the maximum length. Under the lock. Only a ring below the maximum grows, and
    /// such a ring has never wrapped: its entries sit oldest first from index 0, and the next goes after them.</summary>
    private void Grow()
    {
        Array.Resize(ref _entries, Math.Min(MaxLength, Math.Max(16, _entries.Length * 2)));
        _next = _count;
    }

    /// <summary>The request's arguments as an entry keeps them: copied, truncated and redacted (see the type's remarks).</summary>
    private static byte[][] CopyArguments(RespRequest request, CommandDefinition command)
    {
        var count = Math.Min(request.Count, MaxArguments);
        var secrets = SecretArguments(request, command);
        var arguments = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var argument = request[i];
            if (i == count - 1 && count < request.Count)
                arguments[i] = Note(request.Count - count + 1, "arguments");
            else if ((secrets & (1UL << i)) != 0)
                arguments[i] = Redacted;
            else if (argument.Length > MaxArgumentBytes)
                arguments[i] = [.. argument[..MaxArgumentBytes], .. Note(argument.Length - MaxArgumentBytes, "bytes")];
            else
                arguments[i] = argument.ToArray();
        }
        return arguments;
    }

    /// <summary>Which of the first <see cref="MaxArguments"/> arguments are secrets, one bit each: every argument of AUTH,
    /// and the user and password after HELLO's AUTH (whatever follows it, if that is fewer than two). The walk starts at
    /// the protocol version, so a HELLO that left it out still hides its password.</summary>
    private static ulong SecretArguments(RespRequest request, CommandDefinition command)
    {
        if (string.Equals(command.Name, "auth", StringComparison.Ordinal)) return ~1UL;
        if (!string.Equals(command.Name, "hello", StringComparison.Ordinal)) return 0;
        var secrets = 0UL;
        for (var i = 1; i < Math.Min(request.Count, MaxArguments); i++)
        {
            if (Ascii.EqualsIgnoreCase(request[i], "AUTH"u8))
            {
                secrets |= 3UL << (i + 1);
                i += 2;
            }
            else if (Ascii.EqualsIgnoreCase(request[i], "SETNAME"u8))
            {
                i++;
            }
        }
        return secrets;
    }

    /// <summary>"... (N more arguments)" or "... (N more bytes)".</summary>
    private static byte[] Note(int more, string what) =>
        Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"... ({more} more {what})"));
}
