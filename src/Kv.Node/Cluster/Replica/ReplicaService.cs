using Kv.Node.Cluster.Messaging;
using Kv.Node.Time;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Replica;

/// <summary>
/// The replica side of the internode verbs: applies mutations and hints to the local store and answers
/// full and digest reads and range scans. Every timestamp seen is merged into this node's clock, so a
/// write this node coordinates later is ordered after every write it has stored.
/// </summary>
/// <remarks>Threading: stateless beyond its collaborators, which are thread-safe; handlers run concurrently.</remarks>
public sealed class ReplicaService
{
    private readonly ILocalReplicaStore _store;
    private readonly HybridLogicalClock? _clock;

    public ReplicaService(ILocalReplicaStore store, HybridLogicalClock? clock = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _clock = clock;
    }

    /// <summary>Registers the mutation, hint, read and range-scan verbs on <paramref name="messaging"/>.</summary>
    public void Serve(MessagingService messaging)
    {
        // A received mutation is waited for to the end, shutdown included: once queued its record becomes durable
        // whether or not anyone waits (cancelling stops only the wait), so an ack beats a ShuttingDown error for a
        // write that was applied. Waiting under the shutdown token also cost every replica write a cancellable wait
        // in the WAL (an allocation and a registration).
        messaging.ServeMutations((_, m, _) => ApplyAsync(m, CancellationToken.None));
        messaging.ServeMutationBatches((_, b, _) => ApplyBatchAsync(b, CancellationToken.None));
        messaging.ServeHints((_, m, _) => ApplyAsync(m, CancellationToken.None));
        messaging.ServeReads((_, r, ct) => ReadAsync(r, ct));
        messaging.ServeReadBatches((_, b, ct) => ReadBatchAsync(b, ct));
        messaging.ServeRangeScans((_, s, ct) => _store.ScanAsync(s.StartKey, s.EndKey, Math.Clamp(s.Limit, 1, 10_000), s.IncludeTombstones, ct));
    }

    public async ValueTask<MutationResponse> ApplyAsync(MutationRequest mutation, CancellationToken cancellationToken)
    {
        if (mutation.StorageKey.Length <= Kv.Gossip.Ring.Partitioner.TokenPrefixLength)
            return MutationResponse.Failed("the storage key is shorter than its token prefix");
        _clock?.Update(mutation.Timestamp);
        await _store.ApplyAsync(mutation, cancellationToken).ConfigureAwait(false);
        return MutationResponse.Applied;
    }

    /// <summary>Applies a coordinator's batch as one write; a batch with a malformed mutation is refused whole.</summary>
    public async ValueTask<MutationResponse> ApplyBatchAsync(MutationBatchRequest batch, CancellationToken cancellationToken)
    {
        var mutations = batch.Mutations ?? [];
        for (var i = 0; i < mutations.Length; i++)
        {
            if (mutations[i].StorageKey.Length <= Kv.Gossip.Ring.Partitioner.TokenPrefixLength)
                return MutationResponse.Failed($"mutation {i} of the batch: the storage key is shorter than its token prefix");
        }
        if (mutations.Length == 0) return MutationResponse.Applied;
        if (_clock is not null)
        {
            var newest = long.MinValue;
            foreach (var m in mutations) newest = Math.Max(newest, m.Timestamp);
            _clock.Update(newest);
        }
        await _store.ApplyManyAsync(mutations, cancellationToken).ConfigureAwait(false);
        return MutationResponse.Applied;
    }

    public async ValueTask<ReadResponse> ReadAsync(ReadRequest request, CancellationToken cancellationToken)
    {
        var cell = await _store.ReadAsync(request.StorageKey, cancellationToken).ConfigureAwait(false);
        return cell.ToResponse(request.DigestOnly);
    }

    /// <summary>Answers a coordinator's batch of reads, one result per read in order; a read that fails fails the batch.</summary>
    public async ValueTask<ReadBatchResponse> ReadBatchAsync(ReadBatchRequest batch, CancellationToken cancellationToken)
    {
        var reads = batch.Reads ?? [];
        var results = new ReadResponse[reads.Length];
        for (var i = 0; i < reads.Length; i++) results[i] = await ReadAsync(reads[i], cancellationToken).ConfigureAwait(false);
        return new ReadBatchResponse(results);
    }
}
