using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// The body of a response with the error flag: the request was not served, and why.
/// <code>
/// ErrorResponse := [ 0: code (uint8) | 1: message (str) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct ErrorResponse(
    [property: Key(0)] InternodeErrorCode Code,
    [property: Key(1)] string Message);
