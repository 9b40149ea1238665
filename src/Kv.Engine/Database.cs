using System.Buffers;
using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Iterators;
using Kv.Engine.Manifest;
using Kv.Engine.Memtable;
using Kv.Engine.Sstable;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Engine;

/// <summary>
/// A key-value store in one directory: WAL → skiplist memtable → L0 tables, with versions resolved by
/// timestamp (the highest wins, whatever the arrival order). See docs/engine.md.
/// </summary>
/// <remarks>
/// Threading: every public member is thread-safe.
/// <list type="bullet">
/// <item>Durable (PerWrite) writes queue under <c>_queueLock</c>; one leader at a time takes the whole queue and
/// commits it as one WAL record (Database.GroupCommit.cs). Periodic writes and <see cref="WriteAsync"/> skip the
/// queue. Whoever commits enters the active <see cref="MemtableGeneration"/> lock-free, appends to its WAL (which
/// also shares fsyncs between concurrent appenders), then inserts under <c>_insertLock</c>, which also assigns the
/// batch's sequence number and publishes it to scans in order.</item>
/// <item><c>_rotateLock</c> guards rotation (<c>_active</c>, <c>_immutable</c>) and publishing views; the
/// flush thread takes it only to install its result.</item>
/// <item>Readers take no lock: they pin the current <see cref="ReadView"/> with a reference count.</item>
/// </list>
/// </remarks>
public sealed partial class Database : IDisposable
{
    private readonly string _directory;
    private readonly EngineOptions _options;
    private readonly IFileSystem _fs;
    private readonly ILogger _logger;
    private readonly DirectoryLock _lock;
    private readonly VersionSet _versions;
    private readonly BlockCache? _blockCache;
    private readonly TableCache? _tableCache;       // null: every live table's reader stays open (MaxOpenTables = 0)
    private readonly TableOptions _tableOptions;
    private readonly MemtableMemoryPool _memtablePool;
    private readonly object _insertLock = new();
    private readonly object _rotateLock = new();
    private readonly Dictionary<ulong, TableHandle> _tables = []; // live tables; guarded by _rotateLock
    private readonly Thread _flushThread;
    private readonly SemaphoreSlim _flushSignal = new(0);

    private volatile MemtableGeneration _active;
    private MemtableGeneration? _immutable;          // guarded by _rotateLock
    private volatile ReadView _view;
    private long _lastSequence;                      // guarded by _insertLock
    private long _visibleSequence;                   // written under _insertLock, read lock-free
    private long _flushCount, _flushPauses, _bytesWritten, _bytesFlushed, _writeStalls;
    private Exception? _backgroundError;
    private volatile bool _closing;
    private bool _disposed;

    private Database(string directory, EngineOptions options, ILogger logger, DirectoryLock directoryLock,
                     VersionSet versions, BlockCache? blockCache, TableCache? tableCache, TableOptions tableOptions,
                     WalStatistics walStatistics, MemtableMemoryPool memtablePool, MemtableGeneration active)
    {
        _memtablePool = memtablePool;
        _walStatistics = walStatistics;
        _directory = directory;
        _options = options;
        _fs = options.FileSystem;
        _logger = logger;
        _lock = directoryLock;
        _versions = versions;
        _blockCache = blockCache;
        _tableCache = tableCache;
        _tableOptions = tableOptions;
        _active = active;
        AttachApplier(active);
        _view = new ReadView(active.Memtable, null, []);
        _flushThread = new Thread(FlushLoop) { IsBackground = true, Name = "kv-flush" };
    }

    /// <summary>Opens the store in <paramref name="directory"/>, creating it if it does not exist and recovering it if it
    /// does (manifest, then every WAL not yet flushed). Fails if another instance holds the directory's LOCK.</summary>
    public static Database Open(string directory, EngineOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new EngineOptions();
        options.Validate();
        var logger = (ILogger?)options.LoggerFactory?.CreateLogger<Database>() ?? NullLogger<Database>.Instance;
        var fs = options.FileSystem;
        fs.CreateDirectory(directory);
        var directoryLock = DirectoryLock.Acquire(fs, directory);
        try
        {
            return Recover(directory, options, logger, directoryLock);
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------- writes

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestamp, long expiresAtUnixMs = 0)
    {
        var batch = t_batch ??= new WriteBatch();
        batch.Clear();
        batch.Put(key, value, timestamp, expiresAtUnixMs);
        Write(batch);
    }

    public void Delete(ReadOnlySpan<byte> key, long timestamp)
    {
        var batch = t_batch ??= new WriteBatch();
        batch.Clear();
        batch.Delete(key, timestamp);
        Write(batch);
    }

    [ThreadStatic] private static WriteBatch? t_batch;

    /// <summary>Applies <paramref name="batch"/> atomically; on return it is durable as <see cref="EngineOptions.SyncMode"/> promises.</summary>
    public void Write(WriteBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) return;
        if (_options.SyncMode == WalSyncMode.PerWrite)
        {
            WriteGrouped(batch);
            return;
        }
        // Periodic: appending is a copy into the WAL's buffer, not worth queueing for.
        var generation = EnterWriter();
        try
        {
            generation.Wal.Append(batch.Payload);
            Insert(generation.Memtable, batch.Payload);
        }
        finally
        {
            generation.ExitWriter();
        }
        Interlocked.Add(ref _bytesWritten, batch.ByteSize);
        Interlocked.Increment(ref _groupedWrites);
        if (generation.Memtable.ApproximateMemoryUsage >= _options.MemtableSizeBytes) RotateIfFull(generation);
    }

    /// <summary>The bytes a value of <paramref name="valueLength"/> under a stored key of <paramref name="keyLength"/>
    /// takes in a memtable (its node, links, key and value; see <c>SkipListMemtable</c>): an entry's in-memory size, as
    /// MEMORY USAGE reports it. On disk it is smaller (LZ4 blocks, shared key prefixes).</summary>
    public static int MemtableEntryBytes(int keyLength, int valueLength, long expiresAtUnixMs) =>
        Memtable.SkipListMemtable.EntryBytes(keyLength, Format.EntryValue.EncodedLength(expiresAtUnixMs, valueLength));

    /// <summary>
    /// As <see cref="Write"/>, waiting for the WAL's group commit asynchronously. The batch is copied before this
    /// returns: the caller may clear and reuse it at once, without waiting for the returned task.
    /// </summary>
    /// <remarks>
    /// With per-write sync (the default) nothing runs here after the commit: the WAL's group leader inserts the group
    /// into the memtable and lets its writers out of their generation (<see cref="AttachApplier"/>), and the task
    /// returned is the group's own, so a write allocates no state machine of its own and never resumes. A full
    /// memtable is switched by a pool thread this queues (<see cref="QueueRotation"/>), never by the writer: the
    /// switch waits for the full generation's writers to commit, and the writer's thread is usually a connection's.
    /// </remarks>
    public ValueTask WriteAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        if (batch.Count == 0) return default;
        if (_active.Memtable.ApproximateMemoryUsage >= 2 * _options.MemtableSizeBytes)
            return WriteWhenRoomAsync(batch.Clone(), cancellationToken);
        return AppendAsync(batch, cancellationToken);
    }

    private async ValueTask WriteWhenRoomAsync(WriteBatch batch, CancellationToken cancellationToken)
    {
        await WaitWhileOverfullAsync(cancellationToken).ConfigureAwait(false);
        await AppendAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask AppendAsync(WriteBatch batch, CancellationToken cancellationToken)
    {
        if (_active.Memtable.ApproximateMemoryUsage >= _options.MemtableSizeBytes) QueueRotation();
        var generation = EnterWriter(rotateIfFull: false);
        var appliedByWal = generation.Wal.AppliesAsyncRecords;
        ValueTask append;
        try
        {
            append = generation.Wal.AppendAsync(batch.PayloadMemory, cancellationToken);
        }
        catch
        {
            generation.ExitWriter(); // not appended: the WAL will not let this writer out
            throw;
        }
        Interlocked.Add(ref _bytesWritten, batch.ByteSize);
        Interlocked.Increment(ref _groupedWrites);
        if (appliedByWal) return append;
        // Without per-write sync the append completes before it returns (the log is synced by time or not at all).
        try
        {
            append.GetAwaiter().GetResult();
            Insert(generation.Memtable, batch.Payload);
        }
        finally
        {
            generation.ExitWriter();
        }
        return default;
    }

    /// <summary>Enters the active generation as a writer. A synchronous writer first switches a full memtable itself
    /// (waiting for the switch); an asynchronous one only enters: its caller queued the switch, and
    /// <see cref="WaitWhileOverfullAsync"/> bounds the memtable meanwhile, so a connection's thread never waits on the
    /// rotate lock for a switch.</summary>
    private MemtableGeneration EnterWriter(bool rotateIfFull = true)
    {
        while (true)
        {
            ThrowIfUnusable();
            var generation = _active;
            if (rotateIfFull && generation.Memtable.ApproximateMemoryUsage >= _options.MemtableSizeBytes)
            {
                RotateIfFull(generation);
                continue;
            }
            if (generation.TryEnterWriter()) return generation;
            Thread.Yield(); // sealed by a rotation that is about to publish the next generation
        }
    }

    /// <summary>Inserts a batch whose WAL record is written; the whole batch becomes visible to scans at once.</summary>
    private void Insert(SkipListMemtable memtable, ReadOnlySpan<byte> payload)
    {
        lock (_insertLock)
        {
            var sequence = _lastSequence + 1;
            ApplyBatch(memtable, payload, sequence, "(write batch)", 0);
            _lastSequence = sequence;
            Volatile.Write(ref _visibleSequence, sequence);
        }
    }

    /// <summary>Has <paramref name="generation"/>'s WAL insert each durable group of async writes into its memtable.</summary>
    private void AttachApplier(MemtableGeneration generation)
    {
        var memtable = generation.Memtable;
        generation.Wal.GroupApplier = (payloads, ends) => InsertGroup(memtable, payloads, ends);
        generation.Wal.GroupReleased = generation.ExitWriters;
    }

    /// <summary>Inserts a durable group of batches under one hold of the insert lock; each batch keeps its own sequence.</summary>
    private void InsertGroup(SkipListMemtable memtable, ReadOnlySpan<byte> payloads, ReadOnlySpan<int> ends)
    {
        lock (_insertLock)
        {
            var start = 0;
            var batches = 0;
            foreach (var end in ends)
            {
                if ((++batches & 15) == 0) SyncNudge.NudgeShared(); // a big group runs for a while: let a late WAL sync in
                var sequence = _lastSequence + 1;
                ApplyBatch(memtable, payloads[start..end], sequence, "(write batch)", 0);
                _lastSequence = sequence;
                start = end;
            }
            Volatile.Write(ref _visibleSequence, _lastSequence);
        }
    }

    private static void ApplyBatch(SkipListMemtable memtable, ReadOnlySpan<byte> payload, long sequence, string path, long offset)
    {
        if (!WriteBatchReader.TryCreate(payload, out var reader))
            throw new CorruptionException(path, offset, "write batch shorter than its header");
        while (reader.TryNext(out var kind, out var timestamp, out var key, out var entryValue))
            memtable.Add(key, timestamp, kind, entryValue, sequence);
        if (!reader.AtCleanEnd)
            throw new CorruptionException(path, offset, $"malformed write batch record at byte {reader.Position} of the batch");
    }

    // ---------------------------------------------------------------- reads

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_best;
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_candidate;

    /// <summary>The winning version of <paramref name="key"/> across memtables and tables.</summary>
    public ReadResult Get(ReadOnlySpan<byte> key)
    {
        var view = AcquireView();
        try
        {
            var counters = default(PointReadCounters);
            var winner = TryFindWinner(view, key, out var timestamp, out var kind, out var entryValue, ref counters);
            RecordPointRead(in counters);
            if (!winner) return ReadResult.Absent;
            if (kind == EntryKind.Tombstone) return new ReadResult(ReadStatus.Deleted, timestamp, 0, null);
            var value = DecodeValue(entryValue, key, out var expires);
            if (ExpiredNow(expires)) return ReadResult.Absent;
            return new ReadResult(ReadStatus.Found, timestamp, expires, value.ToArray());
        }
        finally
        {
            view.Release();
        }
    }

    /// <summary>Allocation-free <see cref="Get"/>: appends the value to <paramref name="valueDestination"/> and returns true iff Found.
    /// <paramref name="timestamp"/> is the newest version's, also when it is a tombstone (Deleted) or an expired value (Absent),
    /// so a caller merging versions it holds elsewhere can tell which is newer; 0 when the key has no version.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, IBufferWriter<byte> valueDestination, out ReadStatus status, out long timestamp, out long expiresAtUnixMs)
    {
        ArgumentNullException.ThrowIfNull(valueDestination);
        var view = AcquireView();
        try
        {
            expiresAtUnixMs = 0;
            var counters = default(PointReadCounters);
            var winner = TryFindWinner(view, key, out timestamp, out var kind, out var entryValue, ref counters);
            RecordPointRead(in counters);
            if (!winner)
            {
                status = ReadStatus.Absent;
                timestamp = 0;
                return false;
            }
            if (kind == EntryKind.Tombstone)
            {
                status = ReadStatus.Deleted;
                return false;
            }
            var value = DecodeValue(entryValue, key, out var expires);
            if (ExpiredNow(expires))
            {
                status = ReadStatus.Absent; // timestamp stays the expired version's: it is still the newest write
                return false;
            }
            expiresAtUnixMs = expires;
            status = ReadStatus.Found;
            value.CopyTo(valueDestination.GetSpan(value.Length));
            valueDestination.Advance(value.Length);
            return true;
        }
        finally
        {
            view.Release();
        }
    }

    /// <summary>
    /// Finds the winning version over every source that may hold <paramref name="key"/>: memtables first, then
    /// tables newest first, skipping a table whose key range misses the key, whose max timestamp is below the best
    /// found so far, or whose Bloom filter rules the key out. The returned span lives in a memtable arena or in
    /// this thread's scratch buffer, valid until this thread's next lookup.
    /// </summary>
    private static bool TryFindWinner(ReadView view, ReadOnlySpan<byte> key, out long timestamp, out EntryKind kind, out ReadOnlySpan<byte> entryValue,
                                      ref PointReadCounters counters)
    {
        var found = view.Mutable.TryGetNewest(key, out timestamp, out kind, out entryValue);
        if (view.Immutable is { } immutable && immutable.TryGetNewest(key, out var its, out var ikind, out var ivalue) &&
            (!found || InternalKey.Supersedes(its, ikind, ivalue, timestamp, kind, entryValue)))
        {
            found = true; timestamp = its; kind = ikind; entryValue = ivalue;
        }

        var tables = view.Tables;
        if (tables.Length == 0) return found;
        var best = t_best ??= new ArrayBufferWriter<byte>(256);
        var candidate = t_candidate ??= new ArrayBufferWriter<byte>(256);
        foreach (var table in tables)
        {
            if (!table.Covers(key)) continue;
            if (found && table.MaxTimestamp < timestamp)
            {
                counters.TablesSkippedByTimestamp++;
                continue;
            }
            counters.TablesConsidered++;
            candidate.ResetWrittenCount();
            bool hit;
            long ts;
            EntryKind k;
            using (var lease = table.AcquireReader()) hit = lease.Reader.TryGetNewest(key, out ts, out k, candidate, ref counters);
            if (!hit) continue;
            var v = candidate.WrittenSpan;
            if (found && !InternalKey.Supersedes(ts, k, v, timestamp, kind, entryValue)) continue;
            found = true; timestamp = ts; kind = k;
            (best, candidate) = (candidate, best);
            entryValue = best.WrittenSpan;
        }
        t_best = best;
        t_candidate = candidate;
        return found;
    }

    private static ReadOnlySpan<byte> DecodeValue(ReadOnlySpan<byte> entryValue, ReadOnlySpan<byte> key, out long expires)
    {
        if (!EntryValue.TryRead(entryValue, out expires, out var value))
            throw new CorruptionException("(memtable)", 0, $"malformed entry value for a key of {key.Length} bytes");
        return value;
    }

    /// <summary>
    /// An ordered scan of [<paramref name="startInclusive"/>, <paramref name="endExclusive"/>) (empty end = unbounded)
    /// over a consistent snapshot: writes that begin after this call are invisible to it. Dispose the scanner.
    /// </summary>
    public Scanner Scan(ReadOnlySpan<byte> startInclusive, ReadOnlySpan<byte> endExclusive, ScanOptions? options = null)
    {
        // The view first, then the sequence: every table in the view holds only writes older than the sequence.
        var view = AcquireView();
        try
        {
            var snapshot = Volatile.Read(ref _visibleSequence);
            var children = new IInternalIterator[(view.Immutable is null ? 1 : 2) + view.Tables.Length];
            var i = 0;
            children[i++] = view.Mutable.NewIterator(snapshot);
            if (view.Immutable is not null) children[i++] = view.Immutable.NewIterator(snapshot);
            foreach (var table in view.Tables) children[i++] = table.NewIterator();
            return new Scanner(new MergingIterator(children), startInclusive, endExclusive,
                options?.IncludeTombstones ?? false, NowUnixMs(), view.Pin());
        }
        catch
        {
            view.Release();
            throw;
        }
    }

    private ReadView AcquireView()
    {
        while (true)
        {
            var view = _view;
            if (view.TryAcquire()) return view;
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
    }

    private long NowUnixMs() => _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Whether a value with this expiry is expired now. Reads the clock only for a value that has an expiry: most
    /// have none, and a clock read was ~2 % of a point read's CPU (GET -P16 profile, 2026-11-24).</summary>
    private bool ExpiredNow(long expiresAtUnixMs) => expiresAtUnixMs != 0 && EntryValue.IsExpired(expiresAtUnixMs, NowUnixMs());

    // ---------------------------------------------------------------- stats

    private long _pointReads, _readTablesConsidered, _readTablesSkipped, _filterChecks, _filterNegatives, _filterFalsePositives, _readBlocks;

    /// <summary>Adds one point read's counters to the totals: a handful of atomic adds per read, none per table.</summary>
    private void RecordPointRead(in PointReadCounters c)
    {
        Interlocked.Increment(ref _pointReads);
        if (c.TablesConsidered != 0) Interlocked.Add(ref _readTablesConsidered, c.TablesConsidered);
        if (c.TablesSkippedByTimestamp != 0) Interlocked.Add(ref _readTablesSkipped, c.TablesSkippedByTimestamp);
        if (c.FilterChecks != 0) Interlocked.Add(ref _filterChecks, c.FilterChecks);
        if (c.FilterNegatives != 0) Interlocked.Add(ref _filterNegatives, c.FilterNegatives);
        if (c.FilterFalsePositives != 0) Interlocked.Add(ref _filterFalsePositives, c.FilterFalsePositives);
        if (c.BlocksRead != 0) Interlocked.Add(ref _readBlocks, c.BlocksRead);
    }

    public EngineStats GetStats()
    {
        lock (_rotateLock)
        {
            var levels = 1;
            foreach (var t in _tables.Values) levels = Math.Max(levels, t.Level + 1);
            var files = new int[levels];
            var bytes = new long[levels];
            long entries = _active.Memtable.DistinctKeyCount + (_immutable?.Memtable.DistinctKeyCount ?? 0);
            long expiring = _active.Memtable.ExpiringCount + (_immutable?.Memtable.ExpiringCount ?? 0);
            var expirySum = _active.Memtable.ExpirySum + (_immutable?.Memtable.ExpirySum ?? 0);
            foreach (var t in _tables.Values)
            {
                files[t.Level]++;
                bytes[t.Level] += t.FileSize;
                var props = t.Properties;
                entries += Math.Max(0, props.EntryCount - props.TombstoneCount);
                expiring += props.ExpiringCount;
                expirySum += (double)props.ExpiringCount * props.MeanExpiresAtUnixMs;
            }
            return new EngineStats
            {
                MemtableBytes = _active.Memtable.ApproximateMemoryUsage,
                ImmutableMemtableBytes = _immutable?.Memtable.ApproximateMemoryUsage ?? 0,
                MemtablePoolBytes = _memtablePool.Bytes,
                MemtableChunksReused = _memtablePool.ChunksReused,
                FilesPerLevel = files,
                BytesPerLevel = bytes,
                WalBytes = _active.Wal.Length,
                FlushCount = Interlocked.Read(ref _flushCount),
                FlushPauses = Interlocked.Read(ref _flushPauses),
                BytesWritten = Interlocked.Read(ref _bytesWritten),
                BytesFlushed = Interlocked.Read(ref _bytesFlushed),
                WriteStalls = Interlocked.Read(ref _writeStalls),
                GroupCommits = _walStatistics.Syncs,
                WalWrites = _walStatistics.Writes,
                WalSyncP50Micros = _walStatistics.SyncLatency.PercentileMicros(0.5),
                WalSyncP99Micros = _walStatistics.SyncLatency.PercentileMicros(0.99),
                WalSyncP999Micros = _walStatistics.SyncLatency.PercentileMicros(0.999),
                WalSyncMaxMicros = _walStatistics.SyncLatency.MaxMicros,
                GroupedWrites = Interlocked.Read(ref _groupedWrites),
                BlockCacheHitRate = _blockCache?.HitRate ?? 0,
                OpenTables = _tableCache?.OpenCount ?? _tables.Count,
                TableCacheHits = _tableCache?.Hits ?? 0,
                TableCacheMisses = _tableCache?.Misses ?? 0,
                EstimatedEntries = entries,
                EstimatedExpiringEntries = expiring,
                EstimatedMeanExpiresAtUnixMs = expiring == 0 ? 0 : (long)Math.Round(expirySum / expiring),
                CompactionCount = Interlocked.Read(ref _compactionCount),
                CompactionBytesRead = Interlocked.Read(ref _compactionBytesRead),
                CompactionBytesWritten = Interlocked.Read(ref _compactionBytesWritten),
                WriteAmplification = Interlocked.Read(ref _bytesWritten) is var w and > 0
                    ? (double)(Interlocked.Read(ref _bytesFlushed) + Interlocked.Read(ref _compactionBytesWritten)) / w
                    : 0,
                CompactionScore = Picker.MaxScore(_versions.Current),
                PendingCompactionBytes = PendingCompactionBytes(_versions.Current),
                WriteSlowdowns = Interlocked.Read(ref _writeSlowdowns),
                StallTime = TimeSpan.FromTicks(Interlocked.Read(ref _stallTicks)),
                PointReads = Interlocked.Read(ref _pointReads),
                PointReadTablesConsidered = Interlocked.Read(ref _readTablesConsidered),
                PointReadTablesSkippedByTimestamp = Interlocked.Read(ref _readTablesSkipped),
                BloomFilterChecks = Interlocked.Read(ref _filterChecks),
                BloomFilterNegatives = Interlocked.Read(ref _filterNegatives),
                BloomFilterFalsePositives = Interlocked.Read(ref _filterFalsePositives),
                PointReadBlocks = Interlocked.Read(ref _readBlocks),
                LastScrub = Volatile.Read(ref _lastScrub),
            };
        }
    }

    /// <summary>Numbers of the tables the manifest lists (tests compare them with the directory).</summary>
    internal HashSet<ulong> LiveTableNumbers() => _versions.LiveFileNumbers();

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed || _closing, this);
        if (Volatile.Read(ref _backgroundError) is { } error)
            throw new IOException($"the database in '{_directory}' stopped accepting writes after a background flush failed: {error.Message}. Reopen it to recover from the WAL.", error);
    }
}
