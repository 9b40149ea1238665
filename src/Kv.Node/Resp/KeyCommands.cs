using Kv.Node.Storage;

namespace Kv.Node.Resp;

/// <summary>DEL, UNLINK, EXISTS, TOUCH, EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST,
/// TYPE, SCAN, KEYS, RENAME, RENAMENX.</summary>
internal static class KeyCommands
{
    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("del", -2, CommandFlags.Write, Del, "generic", "Deletes one or more keys.", 1, -1, 1),
        new("unlink", -2, CommandFlags.Write | CommandFlags.Fast, Del, "generic", "Asynchronously deletes one or more keys.", 1, -1, 1),
        new("exists", -2, CommandFlags.ReadOnly | CommandFlags.Fast, Exists, "generic", "Determines whether one or more keys exist.", 1, -1, 1),
        new("touch", -2, CommandFlags.ReadOnly | CommandFlags.Fast, Exists, "generic", "Returns the number of existing keys out of those specified (there is no last-access time to update).", 1, -1, 1),
        new("expire", -3, CommandFlags.Write | CommandFlags.Fast, c => Expire(c, ExpiryArguments.Unit.Seconds, "expire"), "generic", "Sets the expiration time of a key in seconds.", 1, 1, 1),
        new("pexpire", -3, CommandFlags.Write | CommandFlags.Fast, c => Expire(c, ExpiryArguments.Unit.Milliseconds, "pexpire"), "generic", "Sets the expiration time of a key in milliseconds.", 1, 1, 1),
        new("expireat", -3, CommandFlags.Write | CommandFlags.Fast, c => Expire(c, ExpiryArguments.Unit.UnixSeconds, "expireat"), "generic", "Sets the expiration time of a key to a Unix timestamp.", 1, 1, 1),
        new("pexpireat", -3, CommandFlags.Write | CommandFlags.Fast, c => Expire(c, ExpiryArguments.Unit.UnixMilliseconds, "pexpireat"), "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", 1, 1, 1),
        new("ttl", 2, CommandFlags.ReadOnly | CommandFlags.Fast, c => Ttl(c, milliseconds: false), "generic", "Returns the expiration time in seconds of a key.", 1, 1, 1),
        new("pttl", 2, CommandFlags.ReadOnly | CommandFlags.Fast, c => Ttl(c, milliseconds: true), "generic", "Returns the expiration time in milliseconds of a key.", 1, 1, 1),
        new("expiretime", 2, CommandFlags.ReadOnly | CommandFlags.Fast, c => ExpireTime(c, milliseconds: false), "generic", "Returns the expiration time of a key as a Unix timestamp.", 1, 1, 1),
        new("pexpiretime", 2, CommandFlags.ReadOnly | CommandFlags.Fast, c => ExpireTime(c, milliseconds: true), "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", 1, 1, 1),
        new("persist", 2, CommandFlags.Write | CommandFlags.Fast, Persist, "generic", "Removes the expiration time of a key.", 1, 1, 1),
        new("type", 2, CommandFlags.ReadOnly | CommandFlags.Fast, Type, "generic", "Determines the type of value stored at a key.", 1, 1, 1),
        new("scan", -2, CommandFlags.ReadOnly, Scan, "generic", "Iterates over the key names in the database (in token order; see docs/protocol.md)."),
        new("rename", 3, CommandFlags.Write, c => Rename(c, onlyIfAbsent: false), "generic", "Renames a key and overwrites the destination (with the source's expiry).", 1, 2, 1),
        new("renamenx", 3, CommandFlags.Write | CommandFlags.Fast, c => Rename(c, onlyIfAbsent: true), "generic", "Renames a key only when the target key name doesn't exist.", 1, 2, 1),
        new("object", -2, CommandFlags.ReadOnly, Object, "generic", "A container for object introspection commands (ENCODING, REFCOUNT; no access times or frequencies are kept)."),
        new("keys", 2, CommandFlags.ReadOnly, Keys, "generic", "Returns all key names that match a pattern (a walk of the whole keyspace: use SCAN on a large one)."),
    ];

    private static async ValueTask Del(CommandContext c)
    {
        long deleted = 0;
        for (var i = 1; i < c.Request.Count; i++)
        {
            if (await c.Keyspace.DeleteAsync(c.Request.Memory(i)).ConfigureAwait(false)) deleted++;
        }
        c.Reply.WriteInteger(deleted);
    }

    private static async ValueTask Exists(CommandContext c)
    {
        long found = 0;
        for (var i = 1; i < c.Request.Count; i++)
        {
            if ((await c.Keyspace.GetAsync(c.Request.Memory(i), null).ConfigureAwait(false)).Found) found++;
        }
        c.Reply.WriteInteger(found);
    }

    private static async ValueTask Expire(CommandContext c, ExpiryArguments.Unit unit, string name)
    {
        var r = c.Request;
        if (!c.TryGetInt64(2, out var amount))
        {
            c.WriteNotInteger();
            return;
        }
        var condition = ExpiryCondition.None;
        bool nx = false, xx = false, gt = false, lt = false;
        for (var i = 3; i < r.Count; i++)
        {
            if (c.ArgIs(i, "NX"u8)) nx = true;
            else if (c.ArgIs(i, "XX"u8)) xx = true;
            else if (c.ArgIs(i, "GT"u8)) gt = true;
            else if (c.ArgIs(i, "LT"u8)) lt = true;
            else
            {
                c.Reply.WriteError($"ERR Unsupported option {c.ArgString(i)}");
                return;
            }
        }
        if (nx && (xx || gt || lt))
        {
            c.Reply.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible"u8);
            return;
        }
        if (gt && lt)
        {
            c.Reply.WriteError("ERR GT and LT options at the same time are not compatible"u8);
            return;
        }
        if (nx) condition = ExpiryCondition.IfNoExpiry;
        else if (gt) condition = ExpiryCondition.IfGreater;
        else if (lt) condition = ExpiryCondition.IfLess;
        else if (xx) condition = ExpiryCondition.IfHasExpiry;
        if (!ExpiryArguments.TryToAbsolute(amount, unit, c.NowUnixMs, mustBePositive: false, out var at))
        {
            c.Reply.WriteError($"ERR invalid expire time in '{name}' command");
            return;
        }
        var changed = await c.Keyspace.UpdateExpiryAsync(r.Memory(1), new ExpiryUpdate(ExpiryAction.Set, ExpiryArguments.ClampPast(at), condition)).ConfigureAwait(false);
        c.Reply.WriteInteger(changed ? 1 : 0);
    }

    private static async ValueTask Ttl(CommandContext c, bool milliseconds)
    {
        var lookup = await c.Keyspace.GetAsync(c.Request.Memory(1), null).ConfigureAwait(false);
        if (!lookup.Found) c.Reply.WriteInteger(-2);
        else if (lookup.ExpiresAtUnixMs == 0) c.Reply.WriteInteger(-1);
        else
        {
            var left = Math.Max(0, lookup.ExpiresAtUnixMs - c.NowUnixMs);
            c.Reply.WriteInteger(milliseconds ? left : (left + 500) / 1000);
        }
    }

    private static async ValueTask ExpireTime(CommandContext c, bool milliseconds)
    {
        var lookup = await c.Keyspace.GetAsync(c.Request.Memory(1), null).ConfigureAwait(false);
        if (!lookup.Found) c.Reply.WriteInteger(-2);
        else if (lookup.ExpiresAtUnixMs == 0) c.Reply.WriteInteger(-1);
        else c.Reply.WriteInteger(milliseconds ? lookup.ExpiresAtUnixMs : lookup.ExpiresAtUnixMs / 1000);
    }

    /// <summary>Most keys KEYS answers with; past it the client is told to SCAN instead (the reply would be built in memory).</summary>
    internal const int MaxKeysReply = 1_000_000;

    private static async ValueTask Keys(CommandContext c)
    {
        var pattern = c.Request.ToArray(1);
        var all = pattern.AsSpan().SequenceEqual("*"u8);
        var matched = new List<byte[]>();
        var page = new List<byte[]>();
        long cursor = 0;
        do
        {
            page.Clear();
            cursor = await c.Keyspace.ScanAsync(cursor, 1000, page).ConfigureAwait(false);
            foreach (var key in page)
            {
                if (!all && !GlobPattern.IsMatch(pattern, key)) continue;
                if (matched.Count == MaxKeysReply)
                {
                    c.Reply.WriteError($"ERR KEYS matched more than {MaxKeysReply} keys; use SCAN with MATCH to walk them page by page");
                    return;
                }
                matched.Add(key);
            }
        }
        while (cursor != 0);
        c.Reply.WriteArrayHeader(matched.Count);
        foreach (var key in matched) c.Reply.WriteBulk(key);
    }

    private static async ValueTask Rename(CommandContext c, bool onlyIfAbsent)
    {
        var outcome = await c.Keyspace.RenameAsync(c.Request.Memory(1), c.Request.Memory(2), onlyIfAbsent).ConfigureAwait(false);
        if (outcome == RenameOutcome.NoSource) c.Reply.WriteError("ERR no such key"u8);
        else if (onlyIfAbsent) c.Reply.WriteInteger(outcome == RenameOutcome.Renamed ? 1 : 0);
        else c.Reply.WriteOk();
    }

    private static async ValueTask Persist(CommandContext c)
    {
        var changed = await c.Keyspace.UpdateExpiryAsync(c.Request.Memory(1), new ExpiryUpdate(ExpiryAction.Persist, 0, ExpiryCondition.IfHasExpiry)).ConfigureAwait(false);
        c.Reply.WriteInteger(changed ? 1 : 0);
    }

    /// <summary>OBJECT ENCODING key ("raw": every value is stored as its bytes), OBJECT REFCOUNT key (1), nil for a missing
    /// key; OBJECT IDLETIME and FREQ are refused (kv-node keeps no access times or counts); OBJECT HELP.</summary>
    private static async ValueTask Object(CommandContext c)
    {
        var r = c.Request;
        if ((c.ArgIs(1, "ENCODING"u8) || c.ArgIs(1, "REFCOUNT"u8)) && r.Count == 3)
        {
            var lookup = await c.Keyspace.GetAsync(r.Memory(2), null).ConfigureAwait(false);
            if (!lookup.Found) c.Reply.WriteNull();
            else if (c.ArgIs(1, "ENCODING"u8)) c.Reply.WriteBulk("raw"u8);
            else c.Reply.WriteInteger(1);
        }
        else if ((c.ArgIs(1, "IDLETIME"u8) || c.ArgIs(1, "FREQ"u8)) && r.Count == 3)
        {
            c.Reply.WriteError("ERR kv-node keeps no access times or access counts: OBJECT IDLETIME and OBJECT FREQ are not available"u8);
        }
        else if (c.ArgIs(1, "HELP"u8) && r.Count == 2)
        {
            string[] help =
            [
                "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "ENCODING <key>", "    Return the kind of internal representation used in order to store the value associated with a <key> (always raw).",
                "REFCOUNT <key>", "    Return the number of references of the value associated with the specified <key> (always 1).",
                "HELP", "    Print this help.",
            ];
            c.WriteHelp(help);
        }
        else if (c.ArgIs(1, "ENCODING"u8) || c.ArgIs(1, "REFCOUNT"u8) || c.ArgIs(1, "IDLETIME"u8) || c.ArgIs(1, "FREQ"u8))
        {
            c.Reply.WriteError($"ERR wrong number of arguments for 'object|{c.ArgString(1).ToLowerInvariant()}' command");
        }
        else
        {
            c.Reply.WriteError($"ERR unknown subcommand '{c.ArgString(1)}'. Try OBJECT HELP.");
        }
    }

    private static async ValueTask Type(CommandContext c)
    {
        var lookup = await c.Keyspace.GetAsync(c.Request.Memory(1), null).ConfigureAwait(false);
        c.Reply.WriteSimpleString(lookup.Found ? "string"u8 : "none"u8);
    }

    private static async ValueTask Scan(CommandContext c)
    {
        var r = c.Request;
        if (!c.TryGetInt64(1, out var cursor) || !ScanCursor.IsValid(cursor))
        {
            c.Reply.WriteError("ERR invalid cursor"u8);
            return;
        }
        long count = 10;
        byte[]? pattern = null;
        var typeFilterMatchesNothing = false;
        for (var i = 2; i < r.Count; i++)
        {
            if (c.ArgIs(i, "COUNT"u8) && i + 1 < r.Count)
            {
                if (!c.TryGetInt64(i + 1, out count))
                {
                    c.WriteNotInteger();
                    return;
                }
                if (count < 1)
                {
                    c.WriteSyntaxError();
                    return;
                }
                i++;
            }
            else if (c.ArgIs(i, "MATCH"u8) && i + 1 < r.Count)
            {
                pattern = r.ToArray(i + 1);
                if (pattern.AsSpan().SequenceEqual("*"u8)) pattern = null;
                i++;
            }
            else if (c.ArgIs(i, "TYPE"u8) && i + 1 < r.Count)
            {
                typeFilterMatchesNothing = !c.ArgIs(i + 1, "STRING"u8);
                i++;
            }
            else
            {
                c.WriteSyntaxError();
                return;
            }
        }
        var keys = new List<byte[]>();
        var next = await c.Keyspace.ScanAsync(cursor, (int)Math.Min(count, 100_000), keys).ConfigureAwait(false);
        c.Reply.WriteArrayHeader(2);
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(next, digits, out var n);
        c.Reply.WriteBulk(digits[..n]);
        var matching = 0;
        if (!typeFilterMatchesNothing)
        {
            foreach (var key in keys)
            {
                if (pattern is null || GlobPattern.IsMatch(pattern, key)) matching++;
            }
        }
        c.Reply.WriteArrayHeader(matching);
        if (matching == 0) return;
        foreach (var key in keys)
        {
            if (pattern is null || GlobPattern.IsMatch(pattern, key)) c.Reply.WriteBulk(key);
        }
    }
}
