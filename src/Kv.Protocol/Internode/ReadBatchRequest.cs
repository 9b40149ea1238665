using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// Several reads of one replica in one request (verb <see cref="InternodeVerb.ReadBatch"/>): the coordinator's reads of
/// that replica gathered while it handled one burst of client requests. Answered by a <see cref="ReadBatchResponse"/>
/// with one result per read, in order.
/// <code>
/// ReadBatchRequest  := [ 0: reads (array of ReadRequest) ]
/// ReadBatchResponse := [ 0: results (array of ReadResponse, one per read, in order) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct ReadBatchRequest([property: Key(0)] ReadRequest[] Reads);

/// <summary>The answers to a <see cref="ReadBatchRequest"/>, one per read, in its order.</summary>
[MessagePackObject]
public readonly record struct ReadBatchResponse([property: Key(0)] ReadResponse[] Results);
