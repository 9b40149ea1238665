using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// Sloppy quorum: asks a fallback node (one that is not a replica of the key) to keep a write as a durable
/// hint for the natural replica <see cref="TargetHost"/>:<see cref="TargetPort"/>, which is down, and to
/// hand it over when that replica is back (verb <see cref="InternodeVerb.HintedMutation"/>). The fallback
/// answers with a <see cref="MutationResponse"/>: ok once the hint is on its disk.
/// <code>
/// HintedMutationRequest := [ 0: target host (str) | 1: target internode port (int32) | 2: mutation (MutationRequest) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct HintedMutationRequest(
    [property: Key(0)] string TargetHost,
    [property: Key(1)] int TargetPort,
    [property: Key(2)] MutationRequest Mutation);
