namespace Kv.Node.Resp;

/// <summary>COMMAND, COMMAND COUNT, COMMAND INFO, COMMAND DOCS, COMMAND LIST: the command table described to clients.</summary>
internal static class CommandCommands
{
    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("command", -1, CommandFlags.None, Command, "server", "Returns detailed information about all commands."),
    ];

    private static ValueTask Command(CommandContext c)
    {
        var r = c.Request;
        var table = c.Server.Dispatcher.Table;
        if (r.Count == 1)
        {
            c.Reply.WriteArrayHeader(table.Count);
            foreach (var command in table.All) WriteInfo(c, command);
        }
        else if (c.ArgIs(1, "COUNT"u8) && r.Count == 2)
        {
            c.Reply.WriteInteger(table.Count);
        }
        else if (c.ArgIs(1, "LIST"u8) && r.Count == 2)
        {
            c.Reply.WriteArrayHeader(table.Count);
            foreach (var command in table.All) c.Reply.WriteBulk(command.Name);
        }
        else if (c.ArgIs(1, "INFO"u8))
        {
            if (r.Count == 2)
            {
                c.Reply.WriteArrayHeader(table.Count);
                foreach (var command in table.All) WriteInfo(c, command);
                return default;
            }
            c.Reply.WriteArrayHeader(r.Count - 2);
            for (var i = 2; i < r.Count; i++)
            {
                var command = table.Find(r[i]);
                if (command is null) c.Reply.WriteNullArray();
                else WriteInfo(c, command);
            }
        }
        else if (c.ArgIs(1, "DOCS"u8))
        {
            var list = new List<CommandDefinition>();
            if (r.Count == 2) list.AddRange(table.All);
            for (var i = 2; i < r.Count; i++)
            {
                if (table.Find(r[i]) is { } command) list.Add(command);
            }
            c.Reply.WriteMapHeader(list.Count);
            foreach (var command in list)
            {
                c.Reply.WriteBulk(command.Name);
                c.Reply.WriteMapHeader(3);
                c.Reply.WriteBulk("summary"u8);
                c.Reply.WriteBulk(command.Summary);
                c.Reply.WriteBulk("since"u8);
                c.Reply.WriteBulk("1.0.0"u8);
                c.Reply.WriteBulk("group"u8);
                c.Reply.WriteBulk(command.Group);
            }
        }
        else
        {
            c.Reply.WriteError($"ERR unknown subcommand '{c.ArgString(1)}'. Try COMMAND HELP.");
        }
        return default;
    }

    /// <summary>Redis 7's COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories, tips, key specs, subcommands.</summary>
    private static void WriteInfo(CommandContext c, CommandDefinition command)
    {
        c.Reply.WriteArrayHeader(10);
        c.Reply.WriteBulk(command.Name);
        c.Reply.WriteInteger(command.Arity);
        var flags = new List<string>();
        if ((command.Flags & CommandFlags.Write) != 0) flags.Add("write");
        if ((command.Flags & CommandFlags.ReadOnly) != 0) flags.Add("readonly");
        if ((command.Flags & CommandFlags.Fast) != 0) flags.Add("fast");
        if ((command.Flags & CommandFlags.NoAuth) != 0) flags.Add("no_auth");
        if ((command.Flags & CommandFlags.Admin) != 0) flags.Add("admin");
        c.Reply.WriteSetHeader(flags.Count);
        foreach (var flag in flags) c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(flag));
        c.Reply.WriteInteger(command.FirstKey);
        c.Reply.WriteInteger(command.LastKey);
        c.Reply.WriteInteger(command.Step);
        c.Reply.WriteSetHeader(1);
        c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes("@" + command.Group));
        c.Reply.WriteArrayHeader(0);
        c.Reply.WriteArrayHeader(0);
        c.Reply.WriteArrayHeader(0);
    }
}
