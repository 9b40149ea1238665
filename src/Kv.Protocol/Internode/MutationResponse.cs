using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// A replica's answer to a <see cref="MutationRequest"/>: <see cref="Ok"/> once the write is durable
/// (its WAL record synced), otherwise why it was not applied.
/// <code>
/// MutationResponse := [ 0: ok (bool) | 1: error (str or nil) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct MutationResponse(
    [property: Key(0)] bool Ok,
    [property: Key(1)] string? Error)
{
    public static MutationResponse Applied => new(true, null);
    public static MutationResponse Failed(string error) => new(false, error);
}
