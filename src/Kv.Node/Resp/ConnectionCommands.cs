using System.Security.Cryptography;
using System.Text;

namespace Kv.Node.Resp;

/// <summary>PING, ECHO, HELLO, AUTH, QUIT, SELECT.</summary>
internal static class ConnectionCommands
{
    /// <summary>The Redis version kv-node's command set and replies follow (clients pick features by it).</summary>
    public const string CompatibleRedisVersion = "7.2.0";

    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("ping", -1, CommandFlags.Fast, Ping, "connection", "Returns the server's liveliness response."),
        new("echo", 2, CommandFlags.Fast, Echo, "connection", "Returns the given string."),
        new("hello", -1, CommandFlags.NoAuth | CommandFlags.Fast, Hello, "connection", "Handshakes with the server (protocol 2 or 3, optional AUTH and SETNAME)."),
        new("auth", -2, CommandFlags.NoAuth | CommandFlags.Fast, Auth, "connection", "Authenticates the connection."),
        new("quit", -1, CommandFlags.NoAuth | CommandFlags.Fast, Quit, "connection", "Closes the connection."),
        new("select", 2, CommandFlags.Fast, Select, "connection", "Changes the selected database (kv-node has only database 0)."),
    ];

    private static ValueTask Ping(CommandContext c)
    {
        if (c.Request.Count > 2) c.Reply.WriteError("ERR wrong number of arguments for 'ping' command"u8);
        else if (c.Request.Count == 2) c.Reply.WriteBulk(c.Request[1]);
        else c.Reply.WriteRaw("+PONG\r\n"u8);
        return default;
    }

    private static ValueTask Echo(CommandContext c)
    {
        c.Reply.WriteBulk(c.Request[1]);
        return default;
    }

    private static ValueTask Quit(CommandContext c)
    {
        c.Reply.WriteOk();
        c.CloseAfterReply = true;
        return default;
    }

    private static ValueTask Select(CommandContext c)
    {
        if (!c.TryGetInt64(1, out var db)) c.WriteNotInteger();
        else if (db != 0) c.Reply.WriteError("ERR DB index is out of range"u8);
        else c.Reply.WriteOk();
        return default;
    }

    private static ValueTask Auth(CommandContext c)
    {
        if (c.Request.Count > 3)
        {
            c.WriteSyntaxError();
            return default;
        }
        if (c.Server.Options.Password is null)
        {
            c.Reply.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
            return default;
        }
        var user = c.Request.Count == 3 ? c.Request[1] : "default"u8;
        if (TryAuthenticate(c, user, c.Request[c.Request.Count - 1])) c.Reply.WriteOk();
        else c.Reply.WriteError("WRONGPASS invalid username-password pair or user is disabled."u8);
        return default;
    }

    private static bool TryAuthenticate(CommandContext c, ReadOnlySpan<byte> user, ReadOnlySpan<byte> password)
    {
        var expected = Encoding.UTF8.GetBytes(c.Server.Options.Password ?? "");
        var ok = user.SequenceEqual("default"u8) && CryptographicOperations.FixedTimeEquals(expected, password);
        if (ok) c.Authenticated = true;
        return ok;
    }

    private static ValueTask Hello(CommandContext c)
    {
        var r = c.Request;
        var version = c.Reply.ProtocolVersion;
        var i = 1;
        if (r.Count > 1)
        {
            if (!c.TryGetInt64(1, out var requested))
            {
                c.Reply.WriteError("ERR Protocol version is not an integer or out of range"u8);
                return default;
            }
            if (requested is < 2 or > 3)
            {
                c.Reply.WriteError("NOPROTO unsupported protocol version"u8);
                return default;
            }
            version = (int)requested;
            i = 2;
        }
        string? name = null;
        for (; i < r.Count; i++)
        {
            if (c.ArgIs(i, "AUTH"u8) && i + 2 < r.Count)
            {
                if (c.Server.Options.Password is null)
                {
                    c.Reply.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"u8);
                    return default;
                }
                if (!TryAuthenticate(c, r[i + 1], r[i + 2]))
                {
                    c.Reply.WriteError("WRONGPASS invalid username-password pair or user is disabled."u8);
                    return default;
                }
                i += 2;
            }
            else if (c.ArgIs(i, "SETNAME"u8) && i + 1 < r.Count)
            {
                if (!ClientCommands.IsValidName(r[i + 1]))
                {
                    c.Reply.WriteError(ClientCommands.InvalidNameError);
                    return default;
                }
                name = c.ArgString(i + 1);
                i++;
            }
            else
            {
                c.Reply.WriteError($"ERR Syntax error in HELLO option '{c.ArgString(i)}'");
                return default;
            }
        }
        if (!c.Authenticated)
        {
            c.Reply.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"u8);
            return default;
        }
        if (name is not null) c.Name = name;
        c.Reply.ProtocolVersion = version;
        c.Reply.WriteMapHeader(7);
        c.Reply.WriteBulk("server"u8);
        c.Reply.WriteBulk("redis"u8);
        c.Reply.WriteBulk("version"u8);
        c.Reply.WriteBulk(CompatibleRedisVersion);
        c.Reply.WriteBulk("proto"u8);
        c.Reply.WriteInteger(version);
        c.Reply.WriteBulk("id"u8);
        c.Reply.WriteInteger(c.Id);
        c.Reply.WriteBulk("mode"u8);
        c.Reply.WriteBulk("standalone"u8);
        c.Reply.WriteBulk("role"u8);
        c.Reply.WriteBulk("master"u8);
        c.Reply.WriteBulk("modules"u8);
        c.Reply.WriteArrayHeader(0);
        return default;
    }
}
