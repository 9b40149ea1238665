using Kv.Engine;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Replica;

/// <summary>
/// The replica store of a real node: the local LSM <see cref="Database"/>, whose keys are already storage
/// keys (token | user key) and whose reads already return the highest-timestamp version, so mutations
/// (hints, repairs, retries) are applied blindly with their coordinator timestamps.
/// </summary>
/// <remarks>
/// Threading: thread-safe (the database is). Durability: <see cref="ApplyAsync"/> completes after the
/// engine's group commit synced the write (in its default per-write sync mode).
/// The engine reports an expired value as absent, so replicas agree on expiry by their own clocks: near the
/// expiry instant a read may see a mismatch and repair the value, which is harmless (it expires again).
/// </remarks>
public sealed class EngineReplicaStore(Database database) : ILocalReplicaStore
{
    public Database Database { get; } = database;

    /// <remarks>Returns the engine's own task (no state machine of its own). The engine copies a batch before
    /// <see cref="Database.WriteAsync"/> returns, so each thread fills one batch of its own over and over.</remarks>
    public ValueTask ApplyAsync(MutationRequest mutation, CancellationToken cancellationToken = default)
    {
        var batch = ThreadBatch();
        Add(batch, mutation);
        return Write(batch, cancellationToken);
    }

    /// <summary>One engine write for all of them: one WAL record, durable together, all or none.</summary>
    public ValueTask ApplyManyAsync(ReadOnlyMemory<MutationRequest> mutations, CancellationToken cancellationToken = default)
    {
        var batch = ThreadBatch();
        foreach (var mutation in mutations.Span) Add(batch, mutation);
        return Write(batch, cancellationToken);
    }

    private static WriteBatch ThreadBatch()
    {
        var batch = t_batch ??= new WriteBatch();
        batch.Clear();
        return batch;
    }

    private static void Add(WriteBatch batch, in MutationRequest mutation)
    {
        if (mutation.Kind == MutationKind.Tombstone) batch.Delete(mutation.StorageKey.Span, mutation.Timestamp);
        else batch.Put(mutation.StorageKey.Span, mutation.Value.Span, mutation.Timestamp, mutation.ExpiresAt);
    }

    private ValueTask Write(WriteBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            return Database.WriteAsync(batch, cancellationToken);
        }
        finally
        {
            if (batch.ByteSize > MaxRetainedBatchBytes) t_batch = null; // a huge value's buffer goes back to the GC
        }
    }

    private const int MaxRetainedBatchBytes = 64 * 1024;
    [ThreadStatic] private static WriteBatch? t_batch;

    public ValueTask<ReplicaCell> ReadAsync(ReadOnlyMemory<byte> storageKey, CancellationToken cancellationToken = default)
    {
        var result = Database.Get(storageKey.Span);
        return ValueTask.FromResult(result.Status switch
        {
            ReadStatus.Found => new ReplicaCell(ReadOutcome.Found, result.Timestamp, result.ExpiresAtUnixMs, result.Value ?? []),
            ReadStatus.Deleted => new ReplicaCell(ReadOutcome.Deleted, result.Timestamp, 0, ReadOnlyMemory<byte>.Empty),
            _ => ReplicaCell.Absent,
        });
    }

    public ValueTask<RangeScanResponse> ScanAsync(ReadOnlyMemory<byte> startKey, ReadOnlyMemory<byte> endKey, int limit, bool includeTombstones, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var rows = new List<ScanRow>(Math.Min(limit, 1024));
        ReadOnlyMemory<byte> next = ReadOnlyMemory<byte>.Empty;
        using var scanner = Database.Scan(startKey.Span, endKey.Span, new ScanOptions { IncludeTombstones = includeTombstones });
        while (scanner.MoveNext())
        {
            if (rows.Count == limit)
            {
                next = scanner.Key.ToArray();
                break;
            }
            rows.Add(new ScanRow(scanner.Key.ToArray(), scanner.IsTombstone ? MutationKind.Tombstone : MutationKind.Value,
                scanner.Timestamp, scanner.ExpiresAtUnixMs, scanner.IsTombstone ? ReadOnlyMemory<byte>.Empty : scanner.Value.ToArray()));
        }
        return ValueTask.FromResult(new RangeScanResponse([.. rows], next));
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        Database.Flush();
        return ValueTask.CompletedTask;
    }

    public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => Storage.EngineStatistics.Describe(Database);

    /// <summary>
    /// Live keys stored here (tombstones and expired values not counted), by a full scan: the engine keeps no key
    /// count. A count is reused while it is younger than <see cref="KeyCountCostFactor"/> times what its scan took, so
    /// counting costs at most about a tenth of a thread however often DBSIZE and INFO ask. A stale count is redone
    /// on the caller's thread when the last scan was short (a small store: the answer is fresh), otherwise on the
    /// thread pool while the caller gets the last count (a large store: DBSIZE must not hold a client thread for
    /// seconds), or, before the first count, the engine's own estimate (<see cref="EngineStats.EstimatedEntries"/>).
    /// </summary>
    public long EstimateKeyCount()
    {
        var cached = Interlocked.Read(ref _keyCount);
        if (cached >= 0 && Environment.TickCount64 - Interlocked.Read(ref _keyCountAtMs) < Interlocked.Read(ref _keyCountMaxAgeMs)) return cached;
        var inline = cached >= 0
            ? Interlocked.Read(ref _keyCountScanMs) <= InlineKeyCountMs
            : Database.GetStats().EstimatedEntries <= InlineKeyCountEntries;
        if (inline) return CountKeys();
        if (Interlocked.CompareExchange(ref _counting, 1, 0) == 0)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    CountKeys();
                }
                catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or IOException)
                {
                    // Closed or failing meanwhile: the last count stays, and the next caller tries again.
                }
                finally
                {
                    Volatile.Write(ref _counting, 0);
                }
            });
        }
        return cached >= 0 ? cached : Database.GetStats().EstimatedEntries;
    }

    private long CountKeys()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        long count = 0;
        using (var scanner = Database.Scan([], []))
        {
            while (scanner.MoveNext()) count++;
        }
        var took = (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        Interlocked.Exchange(ref _keyCount, count);
        Interlocked.Exchange(ref _keyCountScanMs, took);
        Interlocked.Exchange(ref _keyCountMaxAgeMs, (long)(took * KeyCountCostFactor));
        Interlocked.Exchange(ref _keyCountAtMs, Environment.TickCount64);
        return count;
    }

    /// <summary>How many times its own scan time a key count is reused (<see cref="EstimateKeyCount"/>).</summary>
    public double KeyCountCostFactor { get; init; } = 10;

    /// <summary>A stale key count whose last scan took at most this many milliseconds is redone on the caller's thread.</summary>
    public long InlineKeyCountMs { get; init; } = 5;

    /// <summary>The first key count runs on the caller's thread when the engine estimates at most this many entries.</summary>
    public long InlineKeyCountEntries { get; init; } = 20_000;

    private long _keyCount = -1;
    private long _keyCountAtMs, _keyCountMaxAgeMs, _keyCountScanMs;
    private int _counting;
}
