using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// Several writes for one replica in one request (verb <see cref="InternodeVerb.MutationBatch"/>): the coordinator's
/// writes to that replica gathered while it handled one burst of client requests. The replica applies them as one
/// atomic engine write and answers with one <see cref="MutationResponse"/> for all of them: either every mutation is
/// durable or none was applied.
/// <code>
/// MutationBatchRequest := [ 0: mutations (array of MutationRequest) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct MutationBatchRequest([property: Key(0)] MutationRequest[] Mutations);
