namespace Kv.Protocol.Internode;

/// <summary>
/// What an internode request asks for; selects the body contract and the handler.
/// Wire format: values are on the wire, never renumber; add new verbs at the end.
/// </summary>
public enum InternodeVerb : byte
{
    /// <summary>Apply a write or tombstone on a replica: <see cref="MutationRequest"/> → <see cref="MutationResponse"/>.</summary>
    Mutation = 1,

    /// <summary>Read one key (full value or digest): <see cref="ReadRequest"/> → <see cref="ReadResponse"/>.</summary>
    Read = 2,

    /// <summary>Page through a storage-key range: <see cref="RangeScanRequest"/> → <see cref="RangeScanResponse"/>.</summary>
    RangeScan = 3,

    /// <summary>A stored hint replayed to the replica it was meant for: <see cref="MutationRequest"/> → <see cref="MutationResponse"/>.</summary>
    HintReplay = 4,

    /// <summary>Sloppy quorum: keep a write as a hint for a replica that is down: <see cref="HintedMutationRequest"/> → <see cref="MutationResponse"/>.</summary>
    HintedMutation = 5,

    /// <summary>Apply several writes at once, all or none: <see cref="MutationBatchRequest"/> → <see cref="MutationResponse"/>.
    /// A node that predates it answers UnknownVerb, which the coordinator treats like any failed write (a hint).</summary>
    MutationBatch = 6,

    /// <summary>Several reads at once: <see cref="ReadBatchRequest"/> → <see cref="ReadBatchResponse"/>.</summary>
    ReadBatch = 7,
}
