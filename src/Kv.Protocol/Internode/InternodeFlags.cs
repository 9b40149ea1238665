namespace Kv.Protocol.Internode;

/// <summary>Bits of the envelope's flags byte. Wire format: never reassign a bit.</summary>
[Flags]
public enum InternodeFlags : byte
{
    None = 0,

    /// <summary>This envelope answers the request with the same id.</summary>
    Response = 1,

    /// <summary>A response whose body is an <see cref="ErrorResponse"/> instead of the verb's response.</summary>
    Error = 2,

    /// <summary>A request the sender expects no response to.</summary>
    OneWay = 4,
}
