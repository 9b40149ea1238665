using System.Diagnostics;
using Kv.Engine.IO;
using Microsoft.Extensions.Logging;

namespace Kv.Engine.Wal;

/// <summary>
/// Appends records to a write-ahead log in <see cref="LogFormat"/>, with group commit: every appender waiting at
/// the same moment shares one write and one fdatasync.
/// </summary>
/// <remarks>
/// Threading: <see cref="Append"/>, <see cref="AppendAsync"/> and <see cref="Length"/> may be called from any
/// number of threads at once; <see cref="Dispose"/> once, after the last append has returned.
/// <para>Group commit (leader/followers): an appender frames its record into the pending buffer under
/// <c>_mutex</c> and gets a sequence number. If no write is in flight it becomes the leader: it swaps the pending
/// buffer with the spare one, releases <c>_mutex</c>, writes and syncs the whole buffer (holding <c>_io</c>),
/// then publishes the highest sequence it covered (<c>_completedSeq</c>). Appenders that arrive meanwhile frame
/// into the fresh pending buffer and wait; when the leader finishes, it releases the waiters its group covered and
/// hands leadership straight to the oldest remaining waiter, which writes the next group, covering all of them with
/// one sync. Synchronous waiters each wait on their own thread-static event (<c>_waiters</c>), so a finished group
/// wakes only its own members and the next leader, without a convoy on <c>_mutex</c>; async waiters await the
/// group's <see cref="TaskCompletionSource"/> (one per group, created only if an async appender joins it), and a
/// thread-pool item leads a group that only async appenders wait for: an async appender never writes on its own
/// thread, which may be a socket I/O thread that must not sit in fdatasync while other connections wait. Dispose waits for an active leader on
/// <c>_mutex</c> (Monitor).</para>
/// <para><c>_mutex</c> guards every field except the file; the file is touched only under <c>_io</c>, by the
/// leader, the periodic timer (which leads like an appender) or Dispose. A failed write or sync makes the writer
/// unusable: the records of the failed group and every later append throw <see cref="IOException"/> (a failed
/// fsync cannot be retried safely).</para>
/// </remarks>
public sealed class WalWriter : IDisposable
{
    private const int InitialBufferSize = 64 * 1024;
    private const int MaxRetainedBufferSize = 4 * 1024 * 1024;
    private const int PeriodicWriteThreshold = 1024 * 1024;

    private readonly object _mutex = new();
    private readonly object _io = new();
    private readonly IWritableFile _file;
    private readonly string _path;
    private readonly bool _perWrite;
    private readonly ILogger? _logger;
    private readonly WalStatistics? _statistics;
    private readonly ITimer? _timer;
    private readonly Action<object?> _leadReserved;

    private byte[] _pending = new byte[InitialBufferSize];
    private int _pendingLength;
    private byte[] _spare = new byte[InitialBufferSize];
    private long _length;
    private long _appendedSeq;
    private long _completedSeq;
    private bool _leaderActive;
    private bool _unsynced;
    private int _syncWaiters; // Dispose calls waiting on Monitor for the leader to finish
    private readonly List<Waiter> _waiters = [];
    private TaskCompletionSource? _asyncWaiters;
    private WalGroupApplier? _applier;
    private Action<int>? _released;
    private AsyncRecords _records = new();
    // Records of groups done applying, for the next groups to reuse. Several groups can be out at once (one writing,
    // others still applying), and a fresh AsyncRecords regrows its buffer from 4 KiB, so keeping only one spare
    // regrew a buffer from 4 KiB to ~128 KiB per group under pipelined writes (docs/engine.md, "Cached blocks and the GC").
    private readonly Stack<AsyncRecords> _spareRecords = new([new AsyncRecords()]);
    private const int MaxSpareRecords = 4;
    private Exception? _failure;
    private bool _disposed;
    private long _writeCount;
    private long _syncCount;

    private WalWriter(IWritableFile file, string path, WalOptions options, bool direct, string ioMode)
    {
        _file = file;
        _path = path;
        _perWrite = options.SyncMode == WalSyncMode.PerWrite;
        _logger = options.Logger;
        _statistics = options.Statistics;
        IsDirectIO = direct;
        IOMode = ioMode;
        _leadReserved = _ => LeadReserved();
        if (!_perWrite)
        {
            if (options.PeriodicSyncInterval <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(options), options.PeriodicSyncInterval, "the periodic sync interval must be positive");
            _timer = options.TimeProvider.CreateTimer(static s => ((WalWriter)s!).OnTimer(), this,
                                                      options.PeriodicSyncInterval, options.PeriodicSyncInterval);
        }
    }

    /// <summary>True if the log is written with O_DIRECT.</summary>
    public bool IsDirectIO { get; }

    /// <summary>How the log is written, in words (also logged at creation).</summary>
    public string IOMode { get; }

    public string Path => _path;

    /// <summary>Bytes of the log including records still waiting for their group's write.</summary>
    public long Length
    {
        get { lock (_mutex) return _length; }
    }

    /// <summary>Writes issued to the file so far (one per group).</summary>
    public long WriteCount => Interlocked.Read(ref _writeCount);

    /// <summary>Syncs issued to the file so far (one per group in <see cref="WalSyncMode.PerWrite"/> mode).</summary>
    public long SyncCount => Interlocked.Read(ref _syncCount);

    /// <summary>
    /// Applies each durable group's <see cref="AppendAsync"/> records (per-write sync only): the group's leader calls
    /// it once, after the sync, before any of the group's appenders resumes; within a group in append order, while
    /// the next group's leader may already write (so two groups may be applied at once: the applier locks).
    /// The database inserts the whole group into the memtable this way under one lock, instead of every appender
    /// taking the insert lock in turn after waking (a convoy on the lock that cost ~8% of the node's CPU), and a
    /// record whose appender stopped waiting (cancelled) is still applied, as it is still durable. An applier that
    /// throws fails that group's appenders. Set before the first append.
    /// </summary>
    public WalGroupApplier? GroupApplier
    {
        get => _applier;
        set
        {
            lock (_mutex) _applier = value;
        }
    }

    /// <summary>
    /// Called once per group of <see cref="AppendAsync"/> records that <see cref="GroupApplier"/> handles, when the
    /// group is done: after the applier ran (or threw), or when the group could not be written; with the number of
    /// records, before their appenders are released. The database lets the group's writers out of their memtable
    /// generation this way, so an appender has nothing left to do when its wait completes and need not resume at all
    /// (each resumption was an async state machine box per write). Set before the first append.
    /// </summary>
    public Action<int>? GroupReleased
    {
        get => _released;
        set
        {
            lock (_mutex) _released = value;
        }
    }

    /// <summary>True if <see cref="AppendAsync"/> records are applied by <see cref="GroupApplier"/> before it returns.</summary>
    public bool AppliesAsyncRecords => _perWrite && _applier is not null;

    /// <summary>Creates (truncating) the log at <paramref name="path"/> and makes its directory entry durable.
    /// On <see cref="LocalFileSystem"/> under Linux the file is written with O_DIRECT if
    /// <see cref="WalOptions.UseDirectIO"/> is set and the file system accepts it, else buffered; either way
    /// syncs are fdatasync. Other file systems are written through their <see cref="IFileSystem.CreateWritable"/>.</summary>
    public static WalWriter Create(IFileSystem fs, string path, WalOptions options)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(options);
        IWritableFile file;
        bool direct;
        string mode;
        if (fs is LocalFileSystem && OperatingSystem.IsLinux())
        {
            string? reason = "disabled by the options";
            var posix = options.UseDirectIO ? PosixWritableFile.TryCreate(path, direct: true, out reason, options.PreallocateBytes) : null;
            posix ??= PosixWritableFile.TryCreate(path, direct: false, out _, options.PreallocateBytes)!;
            file = posix;
            direct = posix.IsDirect;
            var ahead = options.PreallocateBytes > 0 ? $", zeros written {options.PreallocateBytes / 1024} KiB ahead" : "";
            mode = direct
                ? $"O_DIRECT, {PosixWritableFile.Alignment}-byte aligned writes, fdatasync{ahead}"
                : $"buffered writes, fdatasync{ahead} (O_DIRECT not used: {reason})";
        }
        else
        {
            file = fs.CreateWritable(path);
            direct = false;
            mode = $"buffered writes through {fs.GetType().Name}";
        }
        try
        {
            var directory = System.IO.Path.GetDirectoryName(path);
            fs.SyncDirectory(string.IsNullOrEmpty(directory) ? "." : directory);
            var writer = new WalWriter(file, path, options, direct, mode);
            options.Logger?.LogInformation("WAL {Path}: {IOMode}, sync {SyncMode}", path, mode, options.SyncMode);
            return writer;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Appends one record. <see cref="WalSyncMode.PerWrite"/>: returns once it is durable (sharing the
    /// sync with every appender waiting at the same moment). Periodic: returns without waiting for a sync (see <see cref="WalSyncMode.Periodic"/>).</summary>
    /// <exception cref="IOException">the record's write or sync failed, or an earlier one did.</exception>
    public void Append(ReadOnlySpan<byte> payload)
    {
        Waiter waiter;
        lock (_mutex)
        {
            ThrowIfUnusable();
            var seq = FrameLocked(payload);
            if (!_perWrite)
            {
                WritePeriodicLocked();
                return;
            }
            if (!_leaderActive)
            {
                LeadLocked(sync: true);
                if (_completedSeq >= seq) return;
                throw Failed();
            }
            waiter = t_waiter ??= new Waiter();
            waiter.Signal.Reset();
            waiter.Seq = seq;
            waiter.Outcome = Waiter.Waiting;
            _waiters.Add(waiter);
        }
        waiter.Signal.Wait();
        switch (waiter.Outcome)
        {
            case Waiter.Done:
                return;
            case Waiter.Lead:
                lock (_mutex)
                {
                    LeadLocked(sync: true); // leadership was handed over: _leaderActive is already set for us
                    if (_completedSeq >= waiter.Seq) return;
                }
                throw Failed();
            default:
                throw Failed();
        }
    }

    /// <summary>Like <see cref="Append"/>, but waits for the group's sync asynchronously. The write never happens on
    /// the caller's thread: when none is in flight a thread-pool item is started to lead the group, and appenders
    /// arriving before it starts join it. Cancelling stops the wait, not the record: it may still become durable.</summary>
    public ValueTask AppendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        Task wait;
        lock (_mutex)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfUnusable();
            FrameLocked(payload.Span);
            if (!_perWrite)
            {
                WritePeriodicLocked();
                return default;
            }
            if (_applier is not null) _records.Add(payload.Span);
            if (!_leaderActive) ReserveLeaderFromPoolLocked();
            _asyncWaiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _asyncWaiters.Task;
        }
        return new ValueTask(cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait);
    }

    /// <summary>Writes and syncs whatever is buffered, then closes the file.</summary>
    /// <exception cref="IOException">the final write or sync failed.</exception>
    public void Dispose()
    {
        _timer?.Dispose();
        Exception? finalError = null;
        lock (_mutex)
        {
            if (_disposed) return;
            _disposed = true;
            while (_leaderActive)
            {
                _syncWaiters++;
                try { Monitor.Wait(_mutex); }
                finally { _syncWaiters--; }
            }
            if (_failure is null && (_pendingLength > 0 || _unsynced))
            {
                LeadLocked(sync: true);
                finalError = _failure;
            }
        }
        lock (_io) _file.Dispose();
        if (finalError is not null) throw Failed();
    }

    private long FrameLocked(ReadOnlySpan<byte> payload)
    {
        var size = LogFormat.EncodedLength(_length, payload.Length);
        var needed = _pendingLength + size;
        if (needed > _pending.Length)
        {
            var bigger = new byte[Math.Max(needed, Math.Min((long)_pending.Length * 2, Array.MaxLength))];
            _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
            _pending = bigger;
        }
        _pendingLength += LogFormat.Encode(_length, payload, _pending.AsSpan(_pendingLength));
        _length += size;
        return ++_appendedSeq;
    }

    /// <summary>Periodic mode. Buffered files: hands the records to the OS at once (one write per group, no sync),
    /// so a crash of the process alone loses nothing. O_DIRECT files: every write goes to the device, so records
    /// stay in the buffer until the timer (or until the buffer is large).</summary>
    private void WritePeriodicLocked()
    {
        if (_leaderActive || (IsDirectIO && _pendingLength < PeriodicWriteThreshold)) return;
        LeadLocked(sync: false);
        if (_failure is not null) throw Failed();
    }

    /// <summary>Writes (and syncs) every framed record as one group, hands leadership on, then applies the group's
    /// async records (<see cref="GroupApplier"/>) and releases their appenders. Called and returns with <c>_mutex</c>
    /// held exactly once; releases it during the I/O and during the apply.</summary>
    private void LeadLocked(bool sync)
    {
        _leaderActive = true;
        var buffer = _pending;
        var length = _pendingLength;
        var target = _appendedSeq;
        var asyncWaiters = _asyncWaiters;
        var records = _records;
        var applier = _applier;
        _pending = _spare;
        _pendingLength = 0;
        _asyncWaiters = null;
        _records = _spareRecords.TryPop(out var spare) ? spare : new AsyncRecords();
        var wrote = length > 0;
        Exception? error = null;
        Exception? applyError = null;
        Monitor.Exit(_mutex);
        try
        {
            lock (_io)
            {
                if (wrote)
                {
                    _file.Append(buffer.AsSpan(0, length));
                    Interlocked.Increment(ref _writeCount);
                    _statistics?.OnWrite();
                }
                if (sync)
                {
                    var token = SyncNudge.Shared.SyncStarting();
                    try
                    {
                        _file.Sync();
                    }
                    finally
                    {
                        SyncNudge.Shared.SyncEnded(token);
                        _statistics?.SyncLatency.Record((long)Stopwatch.GetElapsedTime(token).TotalMicroseconds);
                    }
                    Interlocked.Increment(ref _syncCount);
                    _statistics?.OnSync();
                }
                else
                {
                    _file.Flush();
                }
            }
        }
        catch (Exception e) // whatever the file throws, the group failed: never leave waiters without an outcome
        {
            error = e;
        }
        finally
        {
            Monitor.Enter(_mutex);
        }

        _spare = buffer.Length > MaxRetainedBufferSize ? new byte[InitialBufferSize] : buffer;
        if (error is null)
        {
            _completedSeq = target;
            _unsynced = !sync && (_unsynced || wrote);
        }
        else
        {
            _failure ??= new IOException(
                $"the WAL '{_path}' failed to {(sync ? "write and sync" : "write")} ({error.Message}); its unsynced records are not durable " +
                "and it accepts no more writes: close the database and reopen it to recover from the log", error);
            _logger?.LogError(error, "WAL {Path}: write/sync failed; the log is closed to writes", _path);
            var failed = records.Count + _records.Count; // this group's and the next one's: never applied
            _records.Clear();
            if (failed > 0) _released?.Invoke(failed);
            asyncWaiters?.TrySetException(_failure);
            _asyncWaiters?.TrySetException(_failure);
            _asyncWaiters = null;
        }
        _leaderActive = false;
        var nextLeader = ReleaseWaitersLocked();
        if (nextLeader is not null)
        {
            _leaderActive = true;
            nextLeader.Outcome = Waiter.Lead;
            nextLeader.Signal.Set();
        }
        else if (_asyncWaiters is not null)
        {
            ReserveLeaderFromPoolLocked();
        }
        if (_syncWaiters > 0) Monitor.PulseAll(_mutex);
        if (error is not null) return;

        // The next group's leader may already be writing: apply this group meanwhile, outside _mutex, then let its
        // appenders go. Groups may be applied out of log order, which no reader can tell: versions are ordered by
        // timestamp, and no appender of either group has resumed before its own group is applied.
        if (records.Count > 0)
        {
            Monitor.Exit(_mutex);
            try
            {
                applier!(records.Bytes.AsSpan(0, records.Length), records.Ends.AsSpan(0, records.Count));
            }
            catch (Exception e)
            {
                applyError = e;
                _logger?.LogError(e, "WAL {Path}: applying a durable group failed", _path);
            }
            finally
            {
                Monitor.Enter(_mutex);
            }
        }
        var applied = records.Count;
        records.Clear();
        if (_spareRecords.Count < MaxSpareRecords) _spareRecords.Push(records);
        if (applied > 0) _released?.Invoke(applied);
        if (applyError is null) asyncWaiters?.TrySetResult();
        else asyncWaiters?.TrySetException(applyError);
    }

    /// <summary>Wakes the waiters whose records are now durable (or failed) and removes the oldest still waiting,
    /// returned to become the next leader.</summary>
    private Waiter? ReleaseWaitersLocked()
    {
        Waiter? next = null;
        var kept = 0;
        for (var i = 0; i < _waiters.Count; i++)
        {
            var w = _waiters[i];
            if (_failure is not null || w.Seq <= _completedSeq)
            {
                w.Outcome = _failure is null ? Waiter.Done : Waiter.Failed;
                w.Signal.Set();
            }
            else if (next is null || w.Seq < next.Seq)
            {
                if (next is not null) _waiters[kept++] = next;
                next = w;
            }
            else
            {
                _waiters[kept++] = w;
            }
        }
        _waiters.RemoveRange(kept, _waiters.Count - kept);
        return next;
    }

    /// <summary>Makes a thread-pool item the leader of the next group. Leadership is taken now (so no appender leads
    /// meanwhile, and Dispose waits for it); the item writes whatever is framed when it runs.</summary>
    private void ReserveLeaderFromPoolLocked()
    {
        _leaderActive = true;
        ThreadPool.UnsafeQueueUserWorkItem(_leadReserved, null, preferLocal: false);
    }

    private void LeadReserved()
    {
        lock (_mutex) LeadLocked(sync: _perWrite);
    }

    private void OnTimer()
    {
        lock (_mutex)
        {
            if (_disposed || _failure is not null || _leaderActive) return;
            if (_pendingLength == 0 && !_unsynced) return;
            LeadLocked(sync: true);
        }
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null) throw Failed();
    }

    private IOException Failed() => new(_failure!.Message, _failure);

    /// <summary>A synchronous appender waiting for its record. One per thread, reused: a thread waits for one record
    /// at a time. <see cref="Outcome"/> is written under <c>_mutex</c> before <see cref="Signal"/> is set.</summary>
    private sealed class Waiter
    {
        public const int Waiting = 0, Done = 1, Failed = 2, Lead = 3;

        public readonly ManualResetEventSlim Signal = new(initialState: false);
        public long Seq;
        public int Outcome;
    }

    [ThreadStatic] private static Waiter? t_waiter;

    /// <summary>The payloads of one group's asynchronous appenders, copied when framed. Under <c>_mutex</c>, or owned
    /// by the leader between taking and returning it; reused, so steady state allocates nothing.</summary>
    private sealed class AsyncRecords
    {
        public byte[] Bytes = new byte[4096];
        public int Length;
        public int[] Ends = new int[64];
        public int Count;

        public void Add(ReadOnlySpan<byte> payload)
        {
            if (Length + payload.Length > Bytes.Length) Array.Resize(ref Bytes, Math.Max(Length + payload.Length, Bytes.Length * 2));
            if (Count == Ends.Length) Array.Resize(ref Ends, Count * 2);
            payload.CopyTo(Bytes.AsSpan(Length));
            Length += payload.Length;
            Ends[Count++] = Length;
        }

        public void Clear()
        {
            if (Bytes.Length > MaxRetainedBufferSize) Bytes = new byte[4096];
            Length = 0;
            Count = 0;
        }
    }
}
