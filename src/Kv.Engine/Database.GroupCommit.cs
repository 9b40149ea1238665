using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Kv.Engine.Wal;

namespace Kv.Engine;

// Group commit of durable (PerWrite) writes: the commit queue (see the threading rules on the type in Database.cs).
public sealed partial class Database
{
    /// <summary>The longest a leader waits for writers that are on their way to the queue.</summary>
    private static readonly long s_maxJoinWaitTicks = Stopwatch.Frequency / 1000; // 1 ms

    private const int MaxRetainedGroupBuffer = 4 * 1024 * 1024;

    [ThreadStatic] private static QueuedWrite? t_queued;
    [ThreadStatic] private static List<QueuedWrite>? t_group;

    private readonly object _queueLock = new();
    private readonly List<QueuedWrite> _queue = []; // guarded by _queueLock
    private bool _leaderActive;                     // guarded by _queueLock
    private int _writersInside;                     // threads inside WriteGrouped (interlocked)
    private byte[] _groupBuffer = new byte[64 * 1024]; // the current leader's
    private long _lastSyncTicks;                    // how long the last group's WAL append took (the current leader's)
    private readonly WalStatistics _walStatistics; // every WAL's writes and syncs since open: the group commits
    private long _groupedWrites;                    // batches made durable, by Write and WriteAsync alike

    /// <summary>A writer in the commit queue: its batch, its wake-up signal and, once woken, the outcome.</summary>
    private sealed class QueuedWrite
    {
        public const int Waiting = 0, Done = 1, Lead = 2;
        public readonly ManualResetEventSlim Signal = new(false);
        public WriteBatch? Batch;
        public int State;          // written before Signal.Set, read after Signal.Wait
        public Exception? Error;   // written before State
    }

    /// <summary>
    /// A durable write through the commit queue (LevelDB's writer queue): the writer that finds no leader becomes it,
    /// takes every queued batch, appends them as one WAL record (one write, one fsync), inserts them into the memtable,
    /// wakes each member of the group through its own signal (no lock convoy) and hands leadership to the first writer
    /// that queued meanwhile. So N concurrent writers share each fsync. The whole group is one WAL record and becomes
    /// visible at once; each batch in it stays atomic.
    /// </summary>
    private void WriteGrouped(WriteBatch batch)
    {
        var me = t_queued ??= new QueuedWrite();
        me.Batch = batch;
        me.State = QueuedWrite.Waiting;
        me.Error = null;
        me.Signal.Reset();
        Interlocked.Increment(ref _writersInside);
        var led = false;
        try
        {
            lock (_queueLock)
            {
                _queue.Add(me);
                if (!_leaderActive) _leaderActive = led = true;
            }
            if (!led)
            {
                me.Signal.Wait();
                led = Volatile.Read(ref me.State) == QueuedWrite.Lead;
            }
            if (led) LeadGroup(me);
        }
        finally
        {
            me.Batch = null;
            Interlocked.Decrement(ref _writersInside);
        }
        if (me.Error is { } error)
        {
            if (led) ExceptionDispatchInfo.Throw(error);
            throw error is ObjectDisposedException
                ? new ObjectDisposedException(nameof(Database), error.Message)
                : new IOException(error.Message, error);
        }
    }

    private void LeadGroup(QueuedWrite me)
    {
        WaitForJoiners();
        var group = t_group ??= [];
        lock (_queueLock)
        {
            group.AddRange(_queue);
            _queue.Clear();
        }
        Exception? error = null;
        try
        {
            CommitGroup(group);
        }
        catch (Exception e)
        {
            error = e;
        }
        QueuedWrite? next;
        lock (_queueLock)
        {
            next = _queue.Count > 0 ? _queue[0] : null;
            if (next is null) _leaderActive = false;
        }
        foreach (var w in group)
        {
            w.Error = error;
            if (ReferenceEquals(w, me)) continue;
            Volatile.Write(ref w.State, QueuedWrite.Done);
            w.Signal.Set(); // w may return and queue again right away: nothing here touches it afterwards
        }
        group.Clear();
        if (next is not null)
        {
            Volatile.Write(ref next.State, QueuedWrite.Lead);
            next.Signal.Set();
        }
    }

    /// <summary>
    /// Writers woken by the previous group are usually back with their next write within microseconds; a leader that
    /// syncs at once would leave them for the group after, halving every group. So while writers are inside the write
    /// path but not yet queued, wait for them, at most half the last sync's duration (and 1 ms). A lone writer never
    /// waits.
    /// </summary>
    private void WaitForJoiners()
    {
        long deadline = 0;
        while (true)
        {
            int queued;
            lock (_queueLock) queued = _queue.Count;
            if (queued >= Volatile.Read(ref _writersInside)) return;
            var now = Stopwatch.GetTimestamp();
            if (deadline == 0) deadline = now + Math.Min(_lastSyncTicks / 2, s_maxJoinWaitTicks);
            if (now >= deadline) return;
            Thread.Yield();
        }
    }

    private void CommitGroup(List<QueuedWrite> group)
    {
        var payload = group.Count == 1 ? group[0].Batch!.Payload : MergeGroup(group);
        var generation = EnterWriter();
        try
        {
            var started = Stopwatch.GetTimestamp();
            generation.Wal.Append(payload);
            _lastSyncTicks = Stopwatch.GetTimestamp() - started;
            Insert(generation.Memtable, payload);
        }
        finally
        {
            generation.ExitWriter();
        }
        Interlocked.Add(ref _bytesWritten, payload.Length);
        if (_groupBuffer.Length > MaxRetainedGroupBuffer) _groupBuffer = new byte[64 * 1024];
        Interlocked.Add(ref _groupedWrites, group.Count);
        if (generation.Memtable.ApproximateMemoryUsage >= _options.MemtableSizeBytes) RotateIfFull(generation);
    }

    /// <summary>Concatenates the group's batches into one batch (the counts add up; the records follow each other).</summary>
    private ReadOnlySpan<byte> MergeGroup(List<QueuedWrite> group)
    {
        var length = WriteBatch.HeaderSize;
        foreach (var w in group) length += w.Batch!.ByteSize - WriteBatch.HeaderSize;
        if (_groupBuffer.Length < length) _groupBuffer = new byte[Math.Max(length, _groupBuffer.Length * 2)];
        var at = WriteBatch.HeaderSize;
        uint count = 0;
        foreach (var w in group)
        {
            var body = w.Batch!.Payload[WriteBatch.HeaderSize..];
            body.CopyTo(_groupBuffer.AsSpan(at));
            at += body.Length;
            count += (uint)w.Batch.Count;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(_groupBuffer, count);
        return _groupBuffer.AsSpan(0, length);
    }
}
