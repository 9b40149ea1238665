using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Tasks.Sources;
using Kv.Node.Storage;
using Kv.Protocol.Buffers;
using Kv.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

/// <summary>
/// The state of one client connection as commands see it: the current request, the reply writer, the
/// keyspace, the session (id, name, protocol, authentication) and the writes left pending.
/// </summary>
/// <remarks>
/// Threading: owned by the connection's loop; commands run one at a time on it. Other threads (CLIENT
/// LIST, INFO, the timeout sweeper) only read the session fields, which are written atomically.
/// Pending writes: a blind write (plain SET) hands its not-yet-durable task to <see cref="DeferOk"/> (on one
/// node, a read-modify-write of the INCR family, APPEND or SETRANGE writes its reply and hands its task to
/// <see cref="Defer"/>), and the connection awaits every pending task before flushing and before any command
/// that is not itself deferrable. So pipelined writes share one group commit (or run to their replicas side by side) and no
/// reply is sent before its write is durable. Two ways to reply, chosen by the keyspace:
/// - early (a local engine, <see cref="IKeyspace.WriteFailuresAreReplies"/> false): "+OK" is written at once
///   and sits unflushed; a failed write means the store is broken, and the connection closes unflushed.
/// - late (a cluster): the reply, "+OK" or the coordinator's UNAVAILABLE / TIMEOUT error, is written when
///   the write completes, in request order. So while late replies are pending, only commands that never
///   reply at once (plain <c>SET key value</c>) may run; anything else drains first (see CommandDispatcher).
/// Pending reads: a plain GET whose lookup does not complete at once (a cluster read waiting for replicas)
/// is deferred the same way, with its own value buffer, and replied late in request order. Reads and writes
/// never pend together: a GET started beside a pending SET could miss it, and a SET started beside a pending
/// GET could be seen by it; either kind drains the other first. So a pipeline of GETs runs to the replicas
/// side by side, and the replies keep Redis's order and its per-connection read-your-writes.
/// </remarks>
public sealed class CommandContext : IDisposable, IValueTaskSource
{
    private const int MaxPending = 256;
    private readonly ValueTask[] _pending = new ValueTask[MaxPending];
    private readonly ValueTask<KeyLookup>[] _reads = new ValueTask<KeyLookup>[MaxPending];
    private readonly PooledBufferWriter?[] _readValues = new PooledBufferWriter?[MaxPending];
    private readonly PendingReply[] _replies = new PendingReply[MaxPending];
    private int _pendingCount;
    private int _lateCount;
    private int _lateReads;
    private ManualResetValueTaskSourceCore<bool> _drain; // what DrainAsync's caller awaits when the drain must wait
    private readonly Action _continueDrain;
    private int _drainIndex;                             // the entry the drain waits on
    private Exception? _drainFailure;                    // the first write that failed

    private enum PendingReply : byte
    {
        /// <summary>Already written ("+OK" sits unflushed); the write must only become durable.</summary>
        Written,
        /// <summary>"+OK" or the cluster error, written when the write completes.</summary>
        LateOk,
        /// <summary>The value, nil or the cluster error, written when the read completes.</summary>
        LateValue,
    }

    internal CommandContext(RespServer server, long id, EndPoint? remote, RespReplyWriter reply)
    {
        Server = server;
        Id = id;
        RemoteEndPoint = remote;
        Reply = reply;
        Keyspace = server.Keyspace;
        CreatedUnixMs = server.Time.GetUtcNow().ToUnixTimeMilliseconds();
        Authenticated = server.Options.Password is null;
        _readValues[0] = Value;
        _continueDrain = ContinueDrain;
    }

    public RespServer Server { get; }

    /// <summary>The keyspace this connection's commands use (a cluster connection may pick its own consistency view).</summary>
    public IKeyspace Keyspace { get; internal set; }

    public RespRequest Request { get; internal set; } = null!;

    public RespReplyWriter Reply { get; }

    /// <summary>Scratch destination for values read from the keyspace.</summary>
    public PooledBufferWriter Value { get; } = new(4096);

    public long Id { get; }

    public EndPoint? RemoteEndPoint { get; }

    public long CreatedUnixMs { get; }

    public string? Name { get; set; }

    public string? LibraryName { get; set; }

    public string? LibraryVersion { get; set; }

    public bool Authenticated { get; set; }

    /// <summary>Name of the last command run (CLIENT LIST's "cmd").</summary>
    public string LastCommand { get; set; } = "NULL";

    /// <summary>The client sent MULTI, which KvStore refuses: every command up to its EXEC or DISCARD is refused too
    /// (<see cref="TransactionRefusal"/>), so a transaction a client pipelined is never half applied.</summary>
    public bool RefusingTransaction { get; set; }

    /// <summary>Set by QUIT, SHUTDOWN and fatal errors: the connection flushes the replies so far and closes.</summary>
    public bool CloseAfterReply { get; set; }

    public bool HasPendingWrites => _pendingCount > 0;

    /// <summary>Pending writes or reads whose replies are not written yet (see the type's remarks).</summary>
    public bool HasLateReplies => _lateCount > 0;

    /// <summary>Deferred GETs are pending (see the type's remarks).</summary>
    public bool HasLateReads => _lateReads > 0;

    /// <summary>Everything pending is a deferred GET, so another GET may join.</summary>
    public bool OnlyLateReadsPending => _pendingCount > 0 && _lateReads == _pendingCount;

    public long NowUnixMs => Server.Time.GetUtcNow().ToUnixTimeMilliseconds();

    public bool IsAdmin => Server.Options.AdminCommands switch
    {
        AdminCommandsMode.All => true,
        AdminCommandsMode.Local => RemoteEndPoint is IPEndPoint ip && IPAddress.IsLoopback(ip.Address),
        _ => false,
    };

    /// <summary>Keeps a write's durability task to await before the reply is flushed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Defer(ValueTask write)
    {
        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            return;
        }
        _pending[_pendingCount++] = write;
    }

    /// <summary>
    /// A blind write whose reply is "+OK": deferred until the connection drains, replied early or late as the
    /// keyspace requires (see the type's remarks). The caller writes no reply of its own.
    /// </summary>
    public void DeferOk(ValueTask write)
    {
        if (!Keyspace.WriteFailuresAreReplies)
        {
            Defer(write);
            Reply.WriteOk();
            return;
        }
        if (_pendingCount == 0 && write.IsCompleted)
        {
            ReplyLate(write);
            return;
        }
        _replies[_pendingCount] = PendingReply.LateOk;
        _pending[_pendingCount++] = write;
        _lateCount++;
    }

    /// <summary>
    /// The buffer a GET reads its value into: <see cref="Value"/> when nothing is pending, otherwise one of its own
    /// that stays untouched until the GET's deferred reply is written (see <see cref="DeferValue"/>). Emptied.
    /// </summary>
    public PooledBufferWriter NextValueBuffer()
    {
        var buffer = _readValues[_pendingCount] ??= new PooledBufferWriter(256);
        buffer.Reset();
        return buffer;
    }

    /// <summary>
    /// A GET whose lookup (into the buffer <see cref="NextValueBuffer"/> just returned) is still running: its reply
    /// is written when the connection drains, in request order. Only GETs may join GETs (see the type's remarks).
    /// </summary>
    public void DeferValue(ValueTask<KeyLookup> lookup)
    {
        _replies[_pendingCount] = PendingReply.LateValue;
        _reads[_pendingCount++] = lookup;
        _lateCount++;
        _lateReads++;
    }

    /// <summary>A GET's reply: the value as a bulk string, or nil; counted as a keyspace hit or miss.</summary>
    public void WriteLookup(KeyLookup lookup, ReadOnlySpan<byte> value)
    {
        if (lookup.Found)
        {
            Server.Stats.CountHit();
            Reply.WriteBulk(value);
        }
        else
        {
            Server.Stats.CountMiss();
            Reply.WriteNull();
        }
    }

    /// <summary>Writes the reply of a completed late-reply write: OK, or the cluster error. Other failures propagate.</summary>
    private void ReplyLate(ValueTask completed)
    {
        try
        {
            completed.GetAwaiter().GetResult();
            Reply.WriteOk();
        }
        catch (Cluster.Coordination.ClusterRequestException e)
        {
            Reply.WriteError(e.RespError);
        }
    }

    /// <summary>True when the pending list is full and must be drained before deferring more.</summary>
    public bool PendingFull => _pendingCount == MaxPending;

    /// <summary>Waits for every deferred write and read, in order, writing their replies. Throws if a write failed.</summary>
    /// <remarks>Hand-written instead of an async method: a durable write always makes the drain wait, and an async
    /// method would box its state machine on every such wait (~170 bytes per SET without pipelining; a pooling
    /// builder does not help while 50 connections wait at once). This context is the awaitable itself, reused: one
    /// drain runs at a time per connection, and each caller awaits it before the next begins.</remarks>
    public ValueTask DrainAsync()
    {
        if (_pendingCount == 0) return default;
        _drainIndex = 0;
        _drainFailure = null;
        // Reset here, once per drain, and take the version before draining: once the drain waits, the rest of it
        // may run on another thread at any moment, completing it before this returns.
        _drain.Reset();
        var version = _drain.Version;
        if (!DrainFrom()) return new ValueTask(this, version);
        return _drainFailure is { } failure ? ValueTask.FromException(new DeferredWriteException(failure)) : default;
    }

    /// <summary>Writes the replies of the pending entries from <see cref="_drainIndex"/> on, while their results are
    /// ready. False when it stopped at one still running, with the drain's continuation registered on it; true when
    /// all are written (the list is then empty).</summary>
    private bool DrainFrom()
    {
        for (; _drainIndex < _pendingCount; _drainIndex++)
        {
            var i = _drainIndex;
            if (_replies[i] == PendingReply.LateValue)
            {
                var awaiter = _reads[i].ConfigureAwait(false).GetAwaiter();
                if (!awaiter.IsCompleted)
                {
                    awaiter.UnsafeOnCompleted(_continueDrain);
                    return false;
                }
            }
            else
            {
                var awaiter = _pending[i].ConfigureAwait(false).GetAwaiter();
                if (!awaiter.IsCompleted)
                {
                    awaiter.UnsafeOnCompleted(_continueDrain);
                    return false;
                }
            }
            WriteDeferredReply(i);
        }
        _pendingCount = 0;
        _lateCount = 0;
        _lateReads = 0;
        return true;
    }

    /// <summary>Runs where the awaited entry completed: writes its reply, drains on, and completes the drain once
    /// every entry is written.</summary>
    private void ContinueDrain()
    {
        try
        {
            WriteDeferredReply(_drainIndex++);
            if (!DrainFrom()) return;
        }
        catch (Exception e)
        {
            // A reply that could not be written (the output already completed, closing after a failed write). This
            // runs on whichever thread completed the awaited entry, so nothing may escape: the awaiting caller gets
            // it, as it would from an async drain.
            _drain.SetException(e);
            return;
        }
        if (_drainFailure is { } failure) _drain.SetException(new DeferredWriteException(failure));
        else _drain.SetResult(true);
    }

    /// <summary>Consumes the result of pending entry <paramref name="i"/> (it has completed) and writes its reply.</summary>
    private void WriteDeferredReply(int i)
    {
        var reply = _replies[i];
        try
        {
            if (reply == PendingReply.LateValue)
            {
                WriteLookup(_reads[i].GetAwaiter().GetResult(), _readValues[i]!.WrittenSpan);
            }
            else
            {
                _pending[i].GetAwaiter().GetResult();
                if (reply == PendingReply.LateOk) Reply.WriteOk();
            }
        }
        catch (Cluster.Coordination.ClusterRequestException e) when (reply != PendingReply.Written)
        {
            Reply.WriteError(e.RespError);
        }
        catch (Exception e) when (reply == PendingReply.LateValue)
        {
            // A failed read breaks nothing that was acknowledged: the client gets an error and the connection goes on.
            Server.Logger.LogError(e, "'get' failed for client {Id}", Id);
            Reply.WriteError($"ERR 'get' failed on the server: {e.Message}");
        }
        catch (Exception e)
        {
            _drainFailure ??= e;
        }
        _pending[i] = default;
        _reads[i] = default;
        _replies[i] = PendingReply.Written;
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _drain.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _drain.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => _drain.GetResult(token);

    // ---- argument helpers (allocation-free) ----

    public bool ArgIs(int index, ReadOnlySpan<byte> upperAsciiWord) => Ascii.EqualsIgnoreCase(Request[index], upperAsciiWord);

    public bool TryGetInt64(int index, out long value) => TryParseInteger(Request[index], out value);

    /// <summary>Redis's integer rule: optional '-', digits, no leading zeros except "0", fits 64 bits.</summary>
    public static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 20) return false;
        var digits = text[0] == (byte)'-' ? text[1..] : text;
        if (digits.IsEmpty || (digits[0] == (byte)'0' && (digits.Length > 1 || text.Length != digits.Length))) return false;
        return RespRequestParser.TryParseInt64(text, out value);
    }

    // ---- common replies ----

    /// <summary>The refusal of an admin command (or subcommand, <c>client|kill</c>) to a connection that may not run it.</summary>
    public void WriteNotAdmin(string command) => Reply.WriteError(
        $"NOPERM '{command}' is an admin command; this connection may not run it (see the admin-commands option: {Server.Options.AdminCommands})");

    public void WriteSyntaxError() => Reply.WriteError("ERR syntax error"u8);

    /// <summary>A HELP subcommand's reply, as Redis writes it: one simple string per line.</summary>
    public void WriteHelp(string[] lines)
    {
        Reply.WriteArrayHeader(lines.Length);
        foreach (var line in lines) Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(line));
    }

    public void WriteNotInteger() => Reply.WriteError("ERR value is not an integer or out of range"u8);

    public void WriteArityError(CommandDefinition command) => Reply.WriteError(command.ArityError);

    /// <summary>Redis's "-ERR unknown command 'x', with args beginning with: 'a' 'b' " (error path: allocates).</summary>
    public void WriteUnknownCommand()
    {
        var text = new StringBuilder("ERR unknown command '");
        AppendPrintable(text, Request[0]);
        text.Append("', with args beginning with: ");
        for (var i = 1; i < Request.Count; i++)
        {
            if (text.Length > 1024) break;
            text.Append('\'');
            AppendPrintable(text, Request[i]);
            text.Append("' ");
        }
        Reply.WriteError(text.ToString());
    }

    /// <summary>Appends at most 128 bytes of an argument, escaping what is not printable ASCII.</summary>
    public static void AppendPrintable(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes.Length > 128 ? bytes[..128] : bytes)
        {
            if (b is >= 0x20 and < 0x7f and not (byte)'\'') text.Append((char)b);
            else text.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public string ArgString(int index) => Encoding.UTF8.GetString(Request[index]);

    public void Dispose()
    {
        Value.Dispose();
        for (var i = 1; i < _readValues.Length; i++) _readValues[i]?.Dispose();
    }
}

/// <summary>A write acknowledged into the (unflushed) output failed: the connection must close without flushing.</summary>
public sealed class DeferredWriteException(Exception inner) : Exception("a pending write failed: " + inner.Message, inner);
