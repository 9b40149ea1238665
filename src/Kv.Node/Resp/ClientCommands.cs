using System.Globalization;
using System.Text;

namespace Kv.Node.Resp;

/// <summary>CLIENT SETNAME, GETNAME, ID, INFO, LIST, SETINFO, KILL, HELP.</summary>
internal static class ClientCommands
{
    public static readonly byte[] InvalidNameError = "ERR Client names cannot contain spaces, newlines or special characters."u8.ToArray();

    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("client", -2, CommandFlags.None, Client, "connection", "A container for client connection commands (SETNAME, GETNAME, ID, INFO, LIST, SETINFO, KILL)."),
    ];

    public static bool IsValidName(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (b is < (byte)'!' or > (byte)'~') return false;
        }
        return true;
    }

    private static ValueTask Client(CommandContext c)
    {
        var r = c.Request;
        if (c.ArgIs(1, "ID"u8) && r.Count == 2) c.Reply.WriteInteger(c.Id);
        else if (c.ArgIs(1, "GETNAME"u8) && r.Count == 2)
        {
            if (c.Name is null) c.Reply.WriteNull();
            else c.Reply.WriteBulk(c.Name);
        }
        else if (c.ArgIs(1, "SETNAME"u8) && r.Count == 3)
        {
            if (!IsValidName(r[2])) c.Reply.WriteError(InvalidNameError);
            else
            {
                c.Name = r[2].IsEmpty ? null : c.ArgString(2);
                c.Reply.WriteOk();
            }
        }
        else if (c.ArgIs(1, "SETINFO"u8) && r.Count == 4)
        {
            if (c.ArgIs(2, "LIB-NAME"u8)) c.LibraryName = c.ArgString(3);
            else if (c.ArgIs(2, "LIB-VER"u8)) c.LibraryVersion = c.ArgString(3);
            else
            {
                c.Reply.WriteError($"ERR Unrecognized option '{c.ArgString(2)}'");
                return default;
            }
            c.Reply.WriteOk();
        }
        else if (c.ArgIs(1, "INFO"u8) && r.Count == 2) c.Reply.WriteBulk(Describe(c, c) + "\n");
        else if (c.ArgIs(1, "LIST"u8))
        {
            var text = new StringBuilder();
            foreach (var other in c.Server.Clients()) text.Append(Describe(other, c)).Append('\n');
            c.Reply.WriteBulk(text.ToString());
        }
        else if (c.ArgIs(1, "KILL"u8) && r.Count >= 3) Kill(c);
        else if (c.ArgIs(1, "HELP"u8))
        {
            string[] help =
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ID", "    Return the ID of the current connection.",
                "GETNAME", "    Return the name of the current connection.",
                "SETNAME <name>", "    Assign the name <name> to the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
                "INFO", "    Return information about the current client connection.",
                "LIST", "    Return information about client connections.",
                "KILL <ip:port>", "    Kill connection made from <ip:port> (admin connections only).",
                "KILL <option> <value> [<option> <value> [...]]", "    Kill connections (admin connections only). Options are:",
                "    * ID <client-id>", "      Kill connections by client id.",
                "    * ADDR <ip:port>", "      Kill connections made from the specified address.",
                "    * LADDR <ip:port>", "      Kill connections made to the specified local address.",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type (all of kv-node's are NORMAL).",
                "    * USER <username>", "      Kill connections authenticated by <username> (all of kv-node's are 'default').",
                "    * MAXAGE <maxage>", "      Kill connections older than the specified age, in seconds.",
                "    * SKIPME (YES|NO)", "      Skip killing the current connection (default: yes).",
            ];
            c.WriteHelp(help);
        }
        else if (IsKnown(c))
        {
            c.Reply.WriteError($"ERR wrong number of arguments for 'client|{c.ArgString(1).ToLowerInvariant()}' command");
        }
        else
        {
            c.Reply.WriteError($"ERR unknown subcommand '{c.ArgString(1)}'. Try CLIENT HELP.");
        }
        return default;
    }

    private static bool IsKnown(CommandContext c) =>
        c.ArgIs(1, "ID"u8) || c.ArgIs(1, "GETNAME"u8) || c.ArgIs(1, "SETNAME"u8) || c.ArgIs(1, "SETINFO"u8) || c.ArgIs(1, "INFO"u8) || c.ArgIs(1, "KILL"u8);

    /// <summary>
    /// CLIENT KILL in both of Redis's forms: <c>CLIENT KILL ip:port</c> (+OK, or an error when no client has that
    /// address) and <c>CLIENT KILL filter value ...</c> (the number of clients closed; every filter must match, and the
    /// asking connection is spared unless SKIPME no). A closed client's request in flight finishes first; the asking
    /// connection, when it closes itself, gets its reply first. Only admin connections may kill (see
    /// <see cref="AdminCommandsMode"/>): it is how an operator drops a misbehaving client without restarting the node.
    /// </summary>
    private static void Kill(CommandContext c)
    {
        var r = c.Request;
        if (!c.IsAdmin)
        {
            c.WriteNotAdmin("client|kill");
            return;
        }
        if (r.Count == 3)
        {
            var address = c.ArgString(2);
            if (c.Server.Kill(o => o.RemoteEndPoint?.ToString() == address, c, skipAsker: false) == 0) c.Reply.WriteError("ERR No such client"u8);
            else c.Reply.WriteOk();
            return;
        }
        if (r.Count % 2 != 0)
        {
            c.WriteSyntaxError();
            return;
        }
        long? id = null, maxAge = null;
        string? remote = null, local = null;
        var skipMe = true;
        var none = false; // a filter no kv-node client can match (another type or user)
        for (var i = 2; i < r.Count; i += 2)
        {
            if (c.ArgIs(i, "ID"u8))
            {
                if (!c.TryGetInt64(i + 1, out var v) || v <= 0)
                {
                    c.Reply.WriteError("ERR client-id should be greater than 0"u8);
                    return;
                }
                id = v;
            }
            else if (c.ArgIs(i, "ADDR"u8)) remote = c.ArgString(i + 1);
            else if (c.ArgIs(i, "LADDR"u8)) local = c.ArgString(i + 1);
            else if (c.ArgIs(i, "MAXAGE"u8))
            {
                if (!c.TryGetInt64(i + 1, out var v))
                {
                    c.WriteNotInteger();
                    return;
                }
                maxAge = v;
            }
            else if (c.ArgIs(i, "SKIPME"u8))
            {
                if (c.ArgIs(i + 1, "YES"u8)) skipMe = true;
                else if (c.ArgIs(i + 1, "NO"u8)) skipMe = false;
                else
                {
                    c.WriteSyntaxError();
                    return;
                }
            }
            else if (c.ArgIs(i, "TYPE"u8))
            {
                if (c.ArgIs(i + 1, "MASTER"u8) || c.ArgIs(i + 1, "REPLICA"u8) || c.ArgIs(i + 1, "SLAVE"u8) || c.ArgIs(i + 1, "PUBSUB"u8)) none = true;
                else if (!c.ArgIs(i + 1, "NORMAL"u8))
                {
                    c.Reply.WriteError($"ERR Unknown client type '{c.ArgString(i + 1)}'");
                    return;
                }
            }
            else if (c.ArgIs(i, "USER"u8))
            {
                if (!c.ArgIs(i + 1, "default"u8))
                {
                    c.Reply.WriteError($"ERR No such user '{c.ArgString(i + 1)}'");
                    return;
                }
            }
            else
            {
                c.WriteSyntaxError();
                return;
            }
        }
        var now = c.NowUnixMs;
        var localAddress = c.Server.EndPoint?.ToString();
        var killed = none ? 0 : c.Server.Kill(o =>
            (id is null || o.Id == id) &&
            (remote is null || o.RemoteEndPoint?.ToString() == remote) &&
            (local is null || localAddress == local) &&
            (maxAge is null || (now - o.CreatedUnixMs) / 1000 >= maxAge), c, skipMe);
        c.Reply.WriteInteger(killed);
    }

    /// <summary>One CLIENT LIST line, in Redis's field order for the fields kv-node has.</summary>
    private static string Describe(CommandContext client, CommandContext asker)
    {
        var now = asker.NowUnixMs;
        return string.Create(CultureInfo.InvariantCulture,
            $"id={client.Id} addr={client.RemoteEndPoint} laddr={asker.Server.EndPoint} fd=-1 name={client.Name} age={(now - client.CreatedUnixMs) / 1000} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={client.LastCommand.ToLowerInvariant()} user=default redir=-1 resp={client.Reply.ProtocolVersion} lib-name={client.LibraryName} lib-ver={client.LibraryVersion}");
    }
}
