using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Replica;

/// <summary>
/// An <see cref="ILocalReplicaStore"/> in memory, for tests and the simulator: a sorted map of storage
/// keys to their newest version. "Durable" means in this object: a simulated crash that must lose
/// nothing acknowledged keeps the instance; one that loses everything creates a new one.
/// </summary>
/// <remarks>Threading: one lock guards the map; every member is thread-safe and completes synchronously.</remarks>
public sealed class InMemoryReplicaStore : ILocalReplicaStore
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<byte[], ReplicaCell> _cells = new(ByteArrayComparer.Instance);

    public int Count
    {
        get
        {
            lock (_lock) return _cells.Count;
        }
    }

    /// <summary>Applied mutations, counting those that lost to a newer version.</summary>
    public long MutationsApplied { get; private set; }

    public ValueTask ApplyAsync(MutationRequest mutation, CancellationToken cancellationToken = default)
    {
        var incoming = new ReplicaCell(mutation.Kind == MutationKind.Tombstone ? ReadOutcome.Deleted : ReadOutcome.Found,
            mutation.Timestamp, mutation.ExpiresAt, mutation.Kind == MutationKind.Tombstone ? ReadOnlyMemory<byte>.Empty : mutation.Value.ToArray());
        var key = mutation.StorageKey.ToArray();
        lock (_lock)
        {
            MutationsApplied++;
            if (!_cells.TryGetValue(key, out var current) || ReplicaCell.Supersedes(incoming, current)) _cells[key] = incoming;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<ReplicaCell> ReadAsync(ReadOnlyMemory<byte> storageKey, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_cells.TryGetValue(storageKey.ToArray(), out var cell) ? cell : ReplicaCell.Absent);
        }
    }

    public ValueTask<RangeScanResponse> ScanAsync(ReadOnlyMemory<byte> startKey, ReadOnlyMemory<byte> endKey, int limit, bool includeTombstones, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var rows = new List<ScanRow>();
        ReadOnlyMemory<byte> next = ReadOnlyMemory<byte>.Empty;
        lock (_lock)
        {
            // A linear walk: this store is for tests and small simulations.
            foreach (var (key, cell) in _cells)
            {
                if (key.AsSpan().SequenceCompareTo(startKey.Span) < 0) continue;
                if (!endKey.IsEmpty && key.AsSpan().SequenceCompareTo(endKey.Span) >= 0) break;
                if (cell.Outcome == ReadOutcome.Deleted && !includeTombstones) continue;
                if (rows.Count == limit)
                {
                    next = key;
                    break;
                }
                rows.Add(new ScanRow(key, cell.Outcome == ReadOutcome.Deleted ? MutationKind.Tombstone : MutationKind.Value, cell.Timestamp, cell.ExpiresAt, cell.Value));
            }
        }
        return ValueTask.FromResult(new RangeScanResponse([.. rows], next));
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public long EstimateKeyCount() => Count;

    private sealed class ByteArrayComparer : IComparer<byte[]>
    {
        public static readonly ByteArrayComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
