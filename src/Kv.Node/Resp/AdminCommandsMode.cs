namespace Kv.Node.Resp;

/// <summary>
/// Who may run admin commands (FLUSHALL, FLUSHDB, SHUTDOWN). Authentication, when a password is set,
/// applies first to every command; this is an extra gate on the destructive ones.
/// </summary>
public enum AdminCommandsMode
{
    /// <summary>Only connections from a loopback address (the default: an operator on the machine).</summary>
    Local,

    /// <summary>Any (authenticated) connection.</summary>
    All,

    /// <summary>Nobody: admin commands are refused.</summary>
    None,
}
