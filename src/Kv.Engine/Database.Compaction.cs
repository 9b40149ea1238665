using System.Diagnostics;
using Kv.Engine.Compaction;
using Kv.Engine.IO;
using Kv.Engine.Iterators;
using Kv.Engine.Manifest;
using Microsoft.Extensions.Logging;

namespace Kv.Engine;

// Background compaction, its installation, and write stalls (docs/compaction.md).
// Threading: one compaction runs at a time, under _compactionLock (the background thread and CompactOnce both take
// it), so only that compaction removes tables from levels; flushes add L0 tables concurrently, which is safe because
// an edit names exactly the tables it deletes. Installing the result takes _rotateLock like a flush does. Stall
// waits happen in RotateIfFull under _rotateLock (Monitor.Wait releases it); compaction pulses it when done.
public sealed partial class Database
{
    private readonly object _compactionLock = new();
    private readonly SemaphoreSlim _compactionSignal = new(0);
    private ICompactionPicker? _picker;
    private RateLimiter? _rateLimiter;

    /// <summary>The bucket compaction output and scrub reads pay into; null without a rate limit. For tests.</summary>
    internal RateLimiter? CompactionRateLimiter => _rateLimiter;
    private Thread? _compactionThread;
    private long _compactionCount, _compactionBytesRead, _compactionBytesWritten, _writeSlowdowns, _stallTicks;

    private ICompactionPicker Picker => _picker ??= _options.CompactionStyle == CompactionStyle.SizeTiered
        ? new SizeTieredCompactionPicker(_options.SizeTieredMinThreshold, _options.SizeTieredMaxThreshold)
        : new LeveledCompactionPicker(_options.Level0CompactionTrigger, _options.LevelBaseBytes);

    /// <summary>Starts the background compaction thread (unless disabled). Called once at open.</summary>
    private void StartCompaction()
    {
        if (_options.CompactionRateLimitBytesPerSecond > 0)
            _rateLimiter = new RateLimiter(_options.CompactionRateLimitBytesPerSecond, _options.TimeProvider);
        if (_options.DisableAutoCompaction) return;
        _compactionThread = new Thread(CompactionLoop) { IsBackground = true, Name = "kv-compaction" };
        _compactionThread.Start();
        _compactionSignal.Release(); // the recovered tree may already need work
    }

    /// <summary>Wakes the compaction thread (after a flush added an L0 table).</summary>
    private void SignalCompaction()
    {
        if (_compactionThread is not null) _compactionSignal.Release();
    }

    private void StopCompaction()
    {
        if (_compactionThread is null) return;
        _compactionSignal.Release();
        _compactionThread.Join();
    }

    private void CompactionLoop()
    {
        while (!_closing)
        {
            _compactionSignal.Wait();
            try
            {
                while (!_closing && _backgroundError is null && CompactOnce()) { }
            }
            catch (Exception e) when (_closing && e is ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "compaction failed; the database stops accepting writes");
                lock (_rotateLock) FailLocked(e);
                return;
            }
        }
    }

    /// <summary>Runs the most urgent due compaction, if any, on the calling thread; false if none was due.
    /// Safe to call alongside the background thread (they take turns).</summary>
    public bool CompactOnce()
    {
        ThrowIfUnusable();
        lock (_compactionLock)
        {
            var plan = Picker.Pick(_versions.Current, _versions.CompactPointer);
            if (plan is null) return false;
            // false: an input is in the version but not yet in the table set (a flush is installing it and will
            // signal again)
            return RunCompaction(plan);
        }
    }

    /// <summary>Runs compactions until none is due.</summary>
    public void CompactUntilIdle()
    {
        while (CompactOnce()) { }
    }

    private bool RunCompaction(CompactionPlan plan)
    {
        var started = Stopwatch.GetTimestamp();
        var inputNumbers = new HashSet<ulong>();
        var iterators = new List<IInternalIterator>();
        var pinned = new List<TableHandle>();
        try
        {
            lock (_rotateLock)
            {
                foreach (var (_, file) in plan.AllInputs())
                {
                    if (!_tables.TryGetValue(file.Number, out var handle)) return false;
                    handle.AddReference();
                    pinned.Add(handle);
                    inputNumbers.Add(file.Number);
                    iterators.Add(handle.NewIterator(fillCache: false));
                }
            }
            var graceCutoff = NowUnixMs() - (long)_options.TombstoneGracePeriod.TotalMilliseconds;
            var purge = new TombstonePurgePolicy(
                graceCutoff,
                _options.RepairedUpToTimestamp?.Invoke() ?? long.MaxValue,
                _options.TimestampToUnixMs,
                (key, ts) => KeyMayExistOutside(inputNumbers, key, ts));
            using var merged = new MergingIterator([.. iterators]);
            iterators.Clear(); // the merging iterator disposes them
            var entries = new CompactionIterator(merged, graceCutoff, purge);
            var output = new CompactionOutput(_fs, _directory, _tableOptions, _versions.NewFileNumber, _rateLimiter, SyncNudge.NudgeShared);
            var outputs = output.Write(entries, plan.SplitOutput ? _options.TargetFileSizeBytes : long.MaxValue);
            Install(plan, outputs);

            long written = 0;
            foreach (var o in outputs) written += o.Size;
            Interlocked.Increment(ref _compactionCount);
            Interlocked.Add(ref _compactionBytesRead, plan.InputBytes);
            Interlocked.Add(ref _compactionBytesWritten, written);
            _logger.LogInformation(
                "compacted {Inputs} tables ({InputBytes} bytes) of L{Level}+L{OutputLevel} into {Outputs} tables ({OutputBytes} bytes) in {Ms} ms ({Reason}; {Shadowed} shadowed, {Expired} expired, {Purged} tombstones purged)",
                inputNumbers.Count, plan.InputBytes, plan.Level, plan.OutputLevel, outputs.Count, written,
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, plan.Reason,
                entries.ShadowedDropped, entries.ExpiredConverted, entries.TombstonesPurged);
            return true;
        }
        finally
        {
            foreach (var it in iterators) it.Dispose();
            foreach (var h in pinned) h.Release();
        }
    }

    /// <summary>
    /// Conservative: true if a version of <paramref name="userKey"/> at or below <paramref name="timestamp"/> may live
    /// in a memtable or in a live table that is not an input (any level: timestamps, not levels, order versions).
    /// Looks at the current view, so tables flushed while the compaction runs count too.
    /// </summary>
    private bool KeyMayExistOutside(HashSet<ulong> inputs, ReadOnlySpan<byte> userKey, long timestamp)
    {
        var view = AcquireView();
        try
        {
            if (view.Mutable.TryGetNewest(userKey, out _, out _, out _)) return true;
            if (view.Immutable is { } immutable && immutable.TryGetNewest(userKey, out _, out _, out _)) return true;
            foreach (var table in view.Tables)
            {
                if (inputs.Contains(table.FileNumber) || table.MinTimestamp > timestamp || !table.Covers(userKey)) continue;
                using var lease = table.AcquireReader();
                if (lease.Reader.MayContain(userKey)) return true;
            }
            return false;
        }
        finally
        {
            view.Release();
        }
    }

    /// <summary>Makes the outputs live and the inputs obsolete in one manifest edit, then in the table set and view.
    /// Input files are deleted when the last reader releases them (<see cref="OnTableReleased"/>).</summary>
    private void Install(CompactionPlan plan, List<FileMetadata> outputs)
    {
        var handles = new List<TableHandle>(outputs.Count);
        try
        {
            foreach (var o in outputs) handles.Add(OpenTable(o.Number, plan.OutputLevel));
            var edit = new VersionEdit();
            foreach (var (level, file) in plan.AllInputs()) edit.DeleteFile(level, file.Number);
            foreach (var o in outputs) edit.AddFile(plan.OutputLevel, o);
            if (plan.CompactPointer is { } pointer) edit.SetCompactPointer(plan.Level, pointer);
            _versions.LogAndApply(edit);
        }
        catch
        {
            foreach (var h in handles) h.CloseReader();
            foreach (var o in outputs) TryDelete(FileNames.TableFile(_directory, o.Number));
            throw;
        }
        lock (_rotateLock)
        {
            foreach (var (_, file) in plan.AllInputs())
            {
                if (_tables.Remove(file.Number, out var old)) old.MarkObsolete();
            }
            foreach (var h in handles) _tables.Add(h.FileNumber, h);
            PublishViewLocked();
            Monitor.PulseAll(_rotateLock); // writers stalled on L0
        }
    }

    /// <summary>
    /// Write backpressure, before a full memtable is rotated: at <see cref="EngineOptions.Level0SlowdownWritesTrigger"/>
    /// L0 tables the rotation is delayed; at <see cref="EngineOptions.Level0StopWritesTrigger"/> it waits until
    /// compaction brings L0 back below it. Writers meanwhile block in <c>EnterWriter</c> (the memtable is full), so
    /// memory stays bounded. Caller holds _rotateLock.
    /// </summary>
    private void ThrottleWritesLocked()
    {
        if (_compactionThread is null) return;
        // Only while compaction has work that would reduce the backlog: size-tiered keeps every run in L0, and a
        // count that no compaction will lower must not stop writes forever.
        if (!CompactionDue()) return;
        var version = _versions.Current;
        var l0 = version.FileCount(0);
        var pending = PendingCompactionBytes(version);
        var stop = l0 >= _options.Level0StopWritesTrigger || pending >= _options.HardPendingCompactionBytesLimit;
        var slow = l0 >= _options.Level0SlowdownWritesTrigger || pending >= _options.SoftPendingCompactionBytesLimit;
        if (!slow && !stop) return;
        var started = Stopwatch.GetTimestamp();
        if (stop)
        {
            Interlocked.Increment(ref _writeStalls);
            _logger.LogWarning("write stall: {L0} L0 tables (stop threshold {Stop}), {Pending} pending compaction bytes (hard limit {Hard}); writers wait for compaction",
                l0, _options.Level0StopWritesTrigger, pending, _options.HardPendingCompactionBytesLimit);
            _compactionSignal.Release();
            while (_backgroundError is null && !_closing && CompactionDue() &&
                   (_versions.Current.FileCount(0) >= _options.Level0StopWritesTrigger ||
                    PendingCompactionBytes(_versions.Current) >= _options.HardPendingCompactionBytesLimit))
                Monitor.Wait(_rotateLock, 100);
        }
        else
        {
            Interlocked.Increment(ref _writeSlowdowns);
            _logger.LogWarning("write slowdown: {L0} L0 tables (slowdown threshold {Slowdown}), {Pending} pending compaction bytes (soft limit {Soft}); delaying the memtable switch by {Delay} ms",
                l0, _options.Level0SlowdownWritesTrigger, pending, _options.SoftPendingCompactionBytesLimit, _options.SlowdownDelay.TotalMilliseconds);
            Monitor.Wait(_rotateLock, _options.SlowdownDelay);
        }
        Interlocked.Add(ref _stallTicks, Stopwatch.GetElapsedTime(started).Ticks);
    }

    private bool CompactionDue() => Picker.MaxScore(_versions.Current) >= 1;

    /// <summary>Bytes the due compactions would rewrite: for each level over its target, its excess plus the
    /// overlapping share of the next level (approximated by the multiplier); for L0, all of L0 and L1.</summary>
    private long PendingCompactionBytes(Manifest.Version version)
    {
        if (Picker is not LeveledCompactionPicker leveled)
        {
            var plan = Picker.Pick(version, static _ => null);
            return plan?.InputBytes ?? 0;
        }
        long pending = 0;
        if (leveled.Score(version, 0) >= 1) pending += version.LevelBytes(0) + version.LevelBytes(1);
        for (var level = 1; level < Manifest.Version.NumLevels - 1; level++)
        {
            var excess = version.LevelBytes(level) - leveled.TargetBytes(version, level);
            if (excess > 0) pending += excess * (1 + leveled.Multiplier);
        }
        return pending;
    }
}
