using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Replica;

/// <summary>
/// The data this node holds as a replica, keyed by storage key (<c>token: u64 BE | user key</c>).
/// Versions are resolved by timestamp (<see cref="ReplicaCell.Supersedes"/>), not by arrival: applying a
/// mutation older than what is stored is a harmless no-op, so hints, repairs and retries apply blindly.
/// </summary>
/// <remarks>
/// Threading: implementations are thread-safe. Durability: <see cref="ApplyAsync"/> completes only once
/// the mutation is durable (a replica acknowledges nothing it could lose). Memory passed in must stay
/// valid until the returned task completes; the store copies what it keeps.
/// </remarks>
public interface ILocalReplicaStore
{
    ValueTask ApplyAsync(MutationRequest mutation, CancellationToken cancellationToken = default);

    /// <summary>Applies several mutations, completing once all are durable. The engine store writes them as one atomic
    /// batch (all or none); this default applies them one after another.</summary>
    async ValueTask ApplyManyAsync(ReadOnlyMemory<MutationRequest> mutations, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < mutations.Length; i++) await ApplyAsync(mutations.Span[i], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The newest version of the key (expired values are returned as they are: expiry is the reader's business).</summary>
    ValueTask<ReplicaCell> ReadAsync(ReadOnlyMemory<byte> storageKey, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> rows with storage keys in [<paramref name="startKey"/>, <paramref name="endKey"/>) (empty end = no bound), in key order.</summary>
    ValueTask<RangeScanResponse> ScanAsync(ReadOnlyMemory<byte> startKey, ReadOnlyMemory<byte> endKey, int limit, bool includeTombstones, CancellationToken cancellationToken = default);

    /// <summary>Persists everything applied so far beyond the log (shutdown).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>The storage engine's statistics for INFO's engine section (none for stores without an engine).</summary>
    IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => [];

    /// <summary>A cheap estimate of the keys stored here (tombstones may count).</summary>
    long EstimateKeyCount();
}
