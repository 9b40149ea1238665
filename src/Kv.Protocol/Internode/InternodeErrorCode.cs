namespace Kv.Protocol.Internode;

/// <summary>Why a request got an error response. Wire format: values are on the wire, never renumber.</summary>
public enum InternodeErrorCode : byte
{
    /// <summary>The handler ran and failed (its message says why).</summary>
    HandlerFailed = 1,

    /// <summary>The receiver has no handler for the verb (an older build, or the feature is off).</summary>
    UnknownVerb = 2,

    /// <summary>The receiver does not speak the envelope version of the request.</summary>
    UnsupportedVersion = 3,

    /// <summary>The body did not decode as the verb's request contract.</summary>
    MalformedRequest = 4,

    /// <summary>The receiver is shutting down.</summary>
    ShuttingDown = 5,
}
