using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Memtable;
using Kv.Engine.Sstable;
using Microsoft.Extensions.Logging;

namespace Kv.Engine;

// Memtable rotation and the background flush to L0 (see the threading rules on the type in Database.cs).
public sealed partial class Database
{
    /// <summary>
    /// Makes <paramref name="full"/> immutable and installs a fresh memtable + WAL, if it is still the active one.
    /// Waits first while the previous immutable memtable is still flushing: memory stays bounded at two memtables.
    /// </summary>
    private void RotateIfFull(MemtableGeneration full)
    {
        lock (_rotateLock)
        {
            ThrottleWritesLocked();
            if (!ReferenceEquals(_active, full) || full.Memtable.ApproximateMemoryUsage < _options.MemtableSizeBytes) return;
            RotateLocked();
        }
    }

    /// <summary>
    /// The async writers' <see cref="RotateIfFull"/>: one writer rotates, the others go on instead of queueing on
    /// <c>_rotateLock</c>. Blocking every async writer's thread-pool thread there starved the pool: the rotation waits
    /// for the old generation's writers, whose WAL completions need pool threads, so a switch took seconds under
    /// load (redis-benchmark -P 16: max latency 3 s). Memory stays bounded by <see cref="WaitWhileOverfullAsync"/>.
    /// </summary>
    private void TryRotateIfFull(MemtableGeneration full)
    {
        if (!Monitor.TryEnter(_rotateLock)) return;
        try
        {
            ThrottleWritesLocked();
            if (!ReferenceEquals(_active, full) || full.Memtable.ApproximateMemoryUsage < _options.MemtableSizeBytes) return;
            RotateLocked();
        }
        finally
        {
            Monitor.Exit(_rotateLock);
        }
    }

    /// <summary>
    /// Has a pool thread switch the full memtable (once: further calls while it is queued do nothing). Not done on
    /// the writer's thread, usually a connection's I/O thread: the switch opens a log, allocates a memtable and waits
    /// for the full generation's groups to commit, several milliseconds in all. Writers go on into the full memtable
    /// meanwhile; <see cref="WaitWhileOverfullAsync"/> bounds it.
    /// </summary>
    private void QueueRotation()
    {
        if (Interlocked.CompareExchange(ref _rotationQueued, 1, 0) != 0) return;
        ThreadPool.UnsafeQueueUserWorkItem(static db => db.RotateQueued(), this, preferLocal: false);
    }

    private int _rotationQueued; // 1 while a pool thread is queued to switch the full memtable

    private void RotateQueued()
    {
        try
        {
            TryRotateIfFull(_active);
        }
        catch (Exception e) // the database failed or is closing, which writes report; a pool thread must not die of it
        {
            _logger.LogDebug(e, "memtable switch not made");
        }
        finally
        {
            Volatile.Write(ref _rotationQueued, 0);
        }
    }

    /// <summary>
    /// Backpressure for async writers while another thread's rotation is held up (previous flush still running, or an
    /// L0 stall): once the active memtable is twice its limit, wait without blocking a thread until it is switched.
    /// </summary>
    private async ValueTask WaitWhileOverfullAsync(CancellationToken cancellationToken)
    {
        var limit = 2 * _options.MemtableSizeBytes;
        while (_active.Memtable.ApproximateMemoryUsage >= limit)
        {
            ThrowIfUnusable();
            TryRotateIfFull(_active);
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    private void RotateLocked()
    {
        ThrowIfUnusable(); // no rotation once Dispose began: the flush thread may be gone
        if (_immutable is not null)
        {
            Interlocked.Increment(ref _writeStalls);
            _logger.LogWarning("write stall: the memtable is full while the previous one is still flushing; writers wait for the flush");
            WaitForFlushLocked();
            ThrowIfUnusable();
        }
        var old = _active;
        var next = NewGeneration();
        _active = next;
        _immutable = old;
        PublishViewLocked();
        old.Seal();
        old.WaitForWriters();
        try
        {
            // Every write of the old generation is in its WAL and its memtable now; its log is closed (synced).
            old.Wal.Dispose();
        }
        catch (Exception e)
        {
            // The old log could not be synced: its unsynced tail may be lost, so its memtable must not be flushed
            // (that would make durable what the log may not hold) and the database stops taking writes.
            FailLocked(e);
            throw;
        }
        finally
        {
            _flushSignal.Release();
        }
    }

    /// <summary>Records a fatal background error: writes fail from now on, waiters wake up. Caller holds _rotateLock.</summary>
    private void FailLocked(Exception error)
    {
        if (_backgroundError is null) Volatile.Write(ref _backgroundError, error);
        Monitor.PulseAll(_rotateLock);
    }

    private MemtableGeneration NewGeneration()
    {
        var number = _versions.NewFileNumber();
        var wal = OpenWal(number);
        var generation = new MemtableGeneration(NewMemtable(), wal, number);
        AttachApplier(generation);
        return generation;
    }

    private SkipListMemtable NewMemtable() => NewMemtable(_options, _memtablePool);

    private static SkipListMemtable NewMemtable(EngineOptions options, MemtableMemoryPool pool) =>
        new(pool.ChunkSize, (ulong)Environment.TickCount64 | 1, options.MemtableSizeBytes, hugePages: options.MemtableHugePages, pool: pool);

    /// <summary>The pool a database's memtables share: their chunks are an eighth of the memtable (64 KiB..8 MiB),
    /// which keeps tiny test memtables tiny. A chunk's first and last partial huge pages stay on small pages
    /// (HugePages), so 8 MiB chunks get at least three quarters of the default 64 MiB memtable onto huge pages, 4 MiB
    /// ones only half.</summary>
    private static MemtableMemoryPool NewMemtablePool(EngineOptions options) =>
        MemtableMemoryPool.For(options.MemtableSizeBytes, (int)Math.Clamp(options.MemtableSizeBytes / 8, 64 * 1024, 8 * 1024 * 1024));

    /// <summary>Publishes a new view of (active, immutable, live tables). Caller holds _rotateLock.</summary>
    private void PublishViewLocked()
    {
        var tables = new TableHandle[_tables.Count];
        var i = 0;
        foreach (var t in _tables.Values) tables[i++] = t;
        // newest first: L0 by descending file number, then deeper levels in order
        Array.Sort(tables, static (a, b) => a.Level != b.Level ? a.Level.CompareTo(b.Level) : b.FileNumber.CompareTo(a.FileNumber));
        var next = new ReadView(_active.Memtable, _immutable?.Memtable, tables);
        var previous = _view;
        _view = next;
        previous.Release();
    }

    /// <summary>Writes the current memtable to an L0 table and waits until that is durable and live.</summary>
    public void Flush()
    {
        ThrowIfUnusable();
        lock (_rotateLock)
        {
            if (_active.Memtable.EntryCount > 0) RotateLocked();
            WaitForFlushLocked();
        }
        ThrowIfUnusable();
    }

    private int _flushWaiters; // threads waiting for the running flush: it is urgent, and not paced

    /// <summary>Waits for the immutable memtable's flush (or a failure, or closing). Caller holds _rotateLock.</summary>
    private void WaitForFlushLocked()
    {
        Interlocked.Increment(ref _flushWaiters);
        try
        {
            while (_immutable is not null && _backgroundError is null && !_closing) Monitor.Wait(_rotateLock, 100);
        }
        finally
        {
            Interlocked.Decrement(ref _flushWaiters);
        }
    }

    /// <summary>
    /// Flush pacing (<see cref="EngineOptions.ForegroundBusy"/>): called by the flush every few entries; pauses 1 ms
    /// when requests are being served and the flush is not urgent. What it protects: a 64 MiB flush takes ~0.4 s of
    /// CPU, which on a small machine the reads right after a burst of writes share (docs/engine.md, "Flush pacing").
    /// What it must not do is delay writers: see <see cref="FlushIsUrgent"/>. Also lets a late WAL sync through
    /// (<see cref="SyncNudge"/>), paced or not.
    /// </summary>
    private void PaceFlush()
    {
        SyncNudge.NudgeShared();
        if (_options.ForegroundBusy is not { } busy || FlushIsUrgent() || !busy()) return;
        Interlocked.Increment(ref _flushPauses);
        Thread.Sleep(1);
    }

    // The flush thread's: the active memtable's size at its last pacing check, and when it last saw it change.
    private long _paceSeenActiveBytes = -1, _paceLastGrowthTicks;

    /// <summary>Whether the flush must run at full speed: something waits for it, the database is closing or failed, the
    /// active memtable is half full, or writes came in within the last <see cref="EngineOptions.FlushPaceWriteQuiet"/> (the active
    /// memtable grew or was switched: the next flush is on its way, and this one must end first; writes land in
    /// group commits a millisecond or two apart, hence a window rather than the last check). Pausing a flush while
    /// writes streamed in made sustained SET -P16 10-20 % slower in some runs (docs/engine.md, "Flush pacing"), so only
    /// a flush during reads alone is paced.</summary>
    private bool FlushIsUrgent()
    {
        if (_closing || Volatile.Read(ref _flushWaiters) > 0 || _backgroundError is not null) return true;
        var active = _active.Memtable.ApproximateMemoryUsage;
        var now = Environment.TickCount64;
        if (active != _paceSeenActiveBytes)
        {
            _paceSeenActiveBytes = active;
            _paceLastGrowthTicks = now;
        }
        return now - _paceLastGrowthTicks < (long)_options.FlushPaceWriteQuiet.TotalMilliseconds || active >= _options.MemtableSizeBytes / 2;
    }

    private void FlushLoop()
    {
        while (true)
        {
            _flushSignal.Wait();
            while (true)
            {
                MemtableGeneration? job;
                lock (_rotateLock) job = _backgroundError is null ? _immutable : null;
                if (job is null) break;
                try
                {
                    FlushImmutable(job);
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "flush of memtable (log {LogNumber}) failed; the database stops accepting writes", job.LogNumber);
                    lock (_rotateLock) FailLocked(e);
                    return;
                }
            }
            if (_closing) return;
        }
    }

    /// <summary>Builds an L0 table from <paramref name="job"/>, makes it live with a manifest edit that also moves
    /// the log number past its WAL, then deletes that WAL.</summary>
    private void FlushImmutable(MemtableGeneration job)
    {
        ulong nextLogNumber;
        lock (_rotateLock) nextLogNumber = _active.LogNumber;
        var table = job.Memtable.EntryCount > 0 ? WriteLevel0Table(job.Memtable) : null;

        var edit = new VersionEdit();
        edit.SetLogNumber(nextLogNumber);
        if (table is not null) edit.AddFile(0, table.Value.Metadata);
        _versions.LogAndApply(edit);
        // The table is live and durable: the WAL is no longer needed (readers use the memtable until the swap below).
        DeleteObsoleteLogs(nextLogNumber);

        lock (_rotateLock)
        {
            if (table is not null) _tables.Add(table.Value.Handle.FileNumber, table.Value.Handle);
            _immutable = null;
            PublishViewLocked();
            job.Memtable.Release(); // the database's own reference: readers of older views keep theirs
            Interlocked.Increment(ref _flushCount);
            Monitor.PulseAll(_rotateLock);
        }
        SignalCompaction();
    }

    private (FileMetadata Metadata, TableHandle Handle)? WriteLevel0Table(SkipListMemtable memtable)
    {
        var number = _versions.NewFileNumber();
        var path = FileNames.TableFile(_directory, number);
        TableProperties properties;
        var file = _fs.CreateWritable(path);
        try
        {
            using (var builder = new TableBuilder(file, _tableOptions))
            {
                if (_options.PrepopulateBlockCacheOnFlush && _blockCache is { } cache)
                    builder.DataBlockWritten = (offset, contents) => cache.Insert(number, offset, BlockCache.CopyBlock(contents));
                using var iterator = memtable.NewIterator();
                WriteWinners(iterator, builder, PaceFlush, _options.FlushPaceEntries);
                properties = builder.Finish();
            }
            file.Sync();
        }
        catch
        {
            file.Dispose();
            TryDelete(path);
            _blockCache?.EvictFile(number);
            throw;
        }
        var size = file.Length;
        file.Dispose();
        _fs.SyncDirectory(_directory);
        Interlocked.Add(ref _bytesFlushed, size);

        var handle = OpenTable(number, 0);
        var metadata = new FileMetadata(number, size, properties.SmallestKey, properties.LargestKey,
                                        properties.MinTimestamp, properties.MaxTimestamp);
        _logger.LogInformation("flushed memtable to L0 table {FileNumber} ({Entries} entries, {Bytes} bytes)", number, properties.EntryCount, size);
        return (metadata, handle);
    }

    /// <summary>
    /// Adds only the winning version of each user key: older versions in the same memtable are shadowed by it,
    /// and a live scan that might still want them reads the memtable object itself, not this table.
    /// </summary>
    internal static void WriteWinners(IInternalIterator iterator, TableBuilder builder, Action? pace = null, int paceEvery = 64)
    {
        var winnerKey = new byte[64];
        var winnerValue = new byte[256];
        var sincePace = 0;
        iterator.SeekToFirst();
        while (iterator.Valid)
        {
            if (pace is not null && ++sincePace >= paceEvery)
            {
                sincePace = 0;
                pace();
            }
            var key = iterator.Key;
            var keyLength = key.Length;
            Copy(ref winnerKey, key);
            var valueLength = iterator.Value.Length;
            Copy(ref winnerValue, iterator.Value);
            for (iterator.Next(); iterator.Valid; iterator.Next())
            {
                var nextKey = iterator.Key;
                var sameUserKey = InternalKey.UserKey(nextKey).SequenceEqual(InternalKey.UserKey(winnerKey.AsSpan(0, keyLength)));
                if (!sameUserKey) break;
                // identical internal key (same timestamp and kind): the greater value wins the tie
                if (nextKey.SequenceEqual(winnerKey.AsSpan(0, keyLength)) &&
                    iterator.Value.SequenceCompareTo(winnerValue.AsSpan(0, valueLength)) > 0)
                {
                    valueLength = iterator.Value.Length;
                    Copy(ref winnerValue, iterator.Value);
                }
            }
            builder.Add(winnerKey.AsSpan(0, keyLength), winnerValue.AsSpan(0, valueLength));
        }

        static void Copy(ref byte[] buffer, ReadOnlySpan<byte> data)
        {
            if (buffer.Length < data.Length) buffer = new byte[Math.Max(data.Length, buffer.Length * 2)];
            data.CopyTo(buffer);
        }
    }

    /// <summary>Opens (and so verifies the footer, index, filter and properties of) a table that is becoming live.</summary>
    private TableHandle OpenTable(ulong number, int level)
    {
        if (_tableCache is null)
            return new TableHandle(TableReader.Open(_fs, FileNames.TableFile(_directory, number), number, _blockCache), level, OnTableReleased);
        using var lease = _tableCache.Acquire(number);
        return new TableHandle(_tableCache, lease.Reader, level, OnTableReleased);
    }

    /// <summary>The last reference to a table went away: close it, and delete it if it is no longer live.</summary>
    private void OnTableReleased(TableHandle table)
    {
        table.CloseReader();
        _blockCache?.EvictFile(table.FileNumber);
        if (table.IsObsolete && !_disposed) TryDelete(FileNames.TableFile(_directory, table.FileNumber));
    }

    private void DeleteObsoleteLogs(ulong logNumber)
    {
        foreach (var name in _fs.ListFiles(_directory))
        {
            if (FileNames.TryParse(name, out var type, out var number) && type == FileType.Log && number < logNumber)
                TryDelete(Path.Combine(_directory, name));
        }
    }

    private void TryDelete(string path)
    {
        try
        {
            _fs.DeleteFile(path);
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "could not delete obsolete file {Path}", path);
        }
    }
}
