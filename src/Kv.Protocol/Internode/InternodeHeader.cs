namespace Kv.Protocol.Internode;

/// <summary>The fixed part of an <see cref="InternodeEnvelope"/>.</summary>
public readonly record struct InternodeHeader(byte Version, InternodeVerb Verb, InternodeFlags Flags, ulong RequestId)
{
    public bool IsResponse => (Flags & InternodeFlags.Response) != 0;
    public bool IsError => (Flags & InternodeFlags.Error) != 0;
    public bool IsOneWay => (Flags & InternodeFlags.OneWay) != 0;

    public static InternodeHeader Request(InternodeVerb verb, ulong requestId, bool oneWay = false) =>
        new(InternodeEnvelope.CurrentVersion, verb, oneWay ? InternodeFlags.OneWay : InternodeFlags.None, requestId);

    public InternodeHeader ToResponse(bool error = false) =>
        new(InternodeEnvelope.CurrentVersion, Verb, error ? InternodeFlags.Response | InternodeFlags.Error : InternodeFlags.Response, RequestId);
}
