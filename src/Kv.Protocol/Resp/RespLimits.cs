namespace Kv.Protocol.Resp;

/// <summary>
/// Bounds on one request, enforced while parsing so that memory stays bounded no matter what a client
/// sends. Immutable; a connection swaps the instance it uses (e.g. after AUTH).
/// </summary>
public sealed class RespLimits
{
    /// <summary>Largest single argument (bulk string), in bytes.</summary>
    public long MaxBulkLength { get; init; } = 32L * 1024 * 1024;

    /// <summary>Largest number of arguments in one multibulk request.</summary>
    public int MaxArgumentCount { get; init; } = 1024 * 1024;

    /// <summary>Longest inline (telnet-style) request line, in bytes.</summary>
    public int MaxInlineLength { get; init; } = 64 * 1024;

    /// <summary>Largest whole request (all headers and arguments), in bytes.</summary>
    public long MaxRequestBytes { get; init; } = 64L * 1024 * 1024;

    public static RespLimits Default { get; } = new();

    /// <summary>What an unauthenticated client may send when a password is set (Redis uses the same idea).</summary>
    public static RespLimits Unauthenticated { get; } = new()
    {
        MaxBulkLength = 16 * 1024,
        MaxArgumentCount = 10,
        MaxInlineLength = 16 * 1024,
        MaxRequestBytes = 64 * 1024,
    };
}
