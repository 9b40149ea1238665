namespace Kv.Protocol.Resp;

/// <summary>Outcome of one attempt to parse a request from buffered bytes.</summary>
public enum RespParseStatus
{
    /// <summary>One whole request was parsed (it may have zero arguments: an empty line or <c>*0</c>).</summary>
    Complete,

    /// <summary>The bytes so far are a valid prefix of a request; read more and try again.</summary>
    Incomplete,

    /// <summary>The bytes can never become a valid request; the connection must be closed.</summary>
    Malformed,
}
