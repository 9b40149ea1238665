namespace Kv.Protocol.Internode;

/// <summary>Why an internode connection's bytes were rejected.</summary>
public enum InternodeProtocolError
{
    WrongMagic,
    UnsupportedVersion,
    MalformedHello,
    EmptyFrame,
    FrameTooLarge,
    ChecksumMismatch,
    UnexpectedBytes,
}
