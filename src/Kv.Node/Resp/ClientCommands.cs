using System.Globalization;
using System.Text;

namespace Kv.Node.Resp;

/// <summary>CLIENT SETNAME, GETNAME, ID, INFO, LIST, SETINFO, HELP.</summary>
internal static class ClientCommands
{
    public static readonly byte[] InvalidNameError = "ERR Client names cannot contain spaces, newlines or special characters."u8.ToArray();

    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("client", -2, CommandFlags.None, Client, "connection", "A container for client connection commands (SETNAME, GETNAME, ID, INFO, LIST, SETINFO)."),
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
            ];
            c.Reply.WriteArrayHeader(help.Length);
            foreach (var line in help) c.Reply.WriteSimpleString(Encoding.ASCII.GetBytes(line));
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
        c.ArgIs(1, "ID"u8) || c.ArgIs(1, "GETNAME"u8) || c.ArgIs(1, "SETNAME"u8) || c.ArgIs(1, "SETINFO"u8) || c.ArgIs(1, "INFO"u8);

    /// <summary>One CLIENT LIST line, in Redis's field order for the fields kv-node has.</summary>
    private static string Describe(CommandContext client, CommandContext asker)
    {
        var now = asker.NowUnixMs;
        return string.Create(CultureInfo.InvariantCulture,
            $"id={client.Id} addr={client.RemoteEndPoint} laddr={asker.Server.EndPoint} fd=-1 name={client.Name} age={(now - client.CreatedUnixMs) / 1000} idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={client.LastCommand.ToLowerInvariant()} user=default redir=-1 resp={client.Reply.ProtocolVersion} lib-name={client.LibraryName} lib-ver={client.LibraryVersion}");
    }
}
