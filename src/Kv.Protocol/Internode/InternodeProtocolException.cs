namespace Kv.Protocol.Internode;

/// <summary>
/// The bytes on an internode connection break the framing rules (wrong magic or version, oversize or
/// corrupt frame). The connection cannot be trusted past this point and must be closed.
/// </summary>
public sealed class InternodeProtocolException(InternodeProtocolError error, string message) : Exception(message)
{
    public InternodeProtocolError Error { get; } = error;
}
