namespace Kv.Node.Resp;

[Flags]
public enum CommandFlags
{
    None = 0,
    Write = 1,
    ReadOnly = 2,

    /// <summary>Allowed before authentication (AUTH, HELLO, QUIT).</summary>
    NoAuth = 4,

    /// <summary>Only for admin connections (see <see cref="AdminCommandsMode"/>).</summary>
    Admin = 8,

    /// <summary>May leave its write pending (blind SET; on one node the INCR family, APPEND, SETRANGE): the connection
    /// need not wait for earlier writes first. Such a command must read earlier writes itself if it reads at all
    /// (<c>EngineKeyspace</c>'s read-modify-writes wait for blind writes and read pending ones).</summary>
    MayDefer = 16,

    Fast = 32,
}
