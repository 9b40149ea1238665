using Kv.Gossip.Transport;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Messaging;

/// <summary>
/// The replica verbs with their contracts fixed, so a coordinator cannot pair a verb with the wrong
/// request or response type. Thin wrappers over <see cref="MessagingService"/>; same threading rules.
/// </summary>
public static class ReplicaVerbs
{
    public static ValueTask<MutationResponse> SendMutationAsync(this MessagingService messaging, NodeAddress replica, MutationRequest mutation, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<MutationRequest, MutationResponse>(replica, InternodeVerb.Mutation, mutation, timeout, cancellationToken);

    /// <summary>Several writes for one replica, applied there as one atomic write (the coordinator's batches).</summary>
    public static ValueTask<MutationResponse> SendMutationBatchAsync(this MessagingService messaging, NodeAddress replica, MutationBatchRequest batch, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<MutationBatchRequest, MutationResponse>(replica, InternodeVerb.MutationBatch, batch, timeout, cancellationToken);

    /// <summary>Replays a stored hint to the replica it was meant for.</summary>
    public static ValueTask<MutationResponse> SendHintAsync(this MessagingService messaging, NodeAddress replica, MutationRequest hint, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<MutationRequest, MutationResponse>(replica, InternodeVerb.HintReplay, hint, timeout, cancellationToken);

    /// <summary>Sloppy quorum: asks a fallback node to keep <paramref name="request"/>'s mutation as a hint for its target.</summary>
    public static ValueTask<MutationResponse> SendHintedMutationAsync(this MessagingService messaging, NodeAddress fallback, HintedMutationRequest request, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<HintedMutationRequest, MutationResponse>(fallback, InternodeVerb.HintedMutation, request, timeout, cancellationToken);

    public static ValueTask<ReadResponse> SendReadAsync(this MessagingService messaging, NodeAddress replica, ReadRequest read, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<ReadRequest, ReadResponse>(replica, InternodeVerb.Read, read, timeout, cancellationToken);

    public static ValueTask<ReadBatchResponse> SendReadBatchAsync(this MessagingService messaging, NodeAddress replica, ReadBatchRequest batch, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<ReadBatchRequest, ReadBatchResponse>(replica, InternodeVerb.ReadBatch, batch, timeout, cancellationToken);

    public static ValueTask<RangeScanResponse> SendRangeScanAsync(this MessagingService messaging, NodeAddress replica, RangeScanRequest scan, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        messaging.SendRequestAsync<RangeScanRequest, RangeScanResponse>(replica, InternodeVerb.RangeScan, scan, timeout, cancellationToken);

    public static void ServeMutations(this MessagingService messaging, Func<NodeAddress, MutationRequest, CancellationToken, ValueTask<MutationResponse>> handler) =>
        messaging.Register(InternodeVerb.Mutation, handler);

    public static void ServeMutationBatches(this MessagingService messaging, Func<NodeAddress, MutationBatchRequest, CancellationToken, ValueTask<MutationResponse>> handler) =>
        messaging.Register(InternodeVerb.MutationBatch, handler);

    public static void ServeHints(this MessagingService messaging, Func<NodeAddress, MutationRequest, CancellationToken, ValueTask<MutationResponse>> handler) =>
        messaging.Register(InternodeVerb.HintReplay, handler);

    public static void ServeHintedMutations(this MessagingService messaging, Func<NodeAddress, HintedMutationRequest, CancellationToken, ValueTask<MutationResponse>> handler) =>
        messaging.Register(InternodeVerb.HintedMutation, handler);

    public static void ServeReads(this MessagingService messaging, Func<NodeAddress, ReadRequest, CancellationToken, ValueTask<ReadResponse>> handler) =>
        messaging.Register(InternodeVerb.Read, handler);

    public static void ServeReadBatches(this MessagingService messaging, Func<NodeAddress, ReadBatchRequest, CancellationToken, ValueTask<ReadBatchResponse>> handler) =>
        messaging.Register(InternodeVerb.ReadBatch, handler);

    public static void ServeRangeScans(this MessagingService messaging, Func<NodeAddress, RangeScanRequest, CancellationToken, ValueTask<RangeScanResponse>> handler) =>
        messaging.Register(InternodeVerb.RangeScan, handler);
}
