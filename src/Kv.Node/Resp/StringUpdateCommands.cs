using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Kv.Node.Storage;

namespace Kv.Node.Resp;

/// <summary>
/// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, APPEND (read-modify-writes through <see cref="IKeyspace.UpdateValueAsync"/>,
/// which keeps the key's expiry, as Redis does), STRLEN, GETRANGE and GETSET. On one node a read-modify-write is
/// atomic against the others on its key (two clients' INCRs never lose one); in a cluster it is a read and a write at
/// the connection's levels, not linearizable (docs/cluster.md).
/// </summary>
internal static class StringUpdateCommands
{
    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("incr", 2, CommandFlags.Write | CommandFlags.Fast | CommandFlags.MayDefer, c => IncrementBy(c, 1), "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", 1, 1, 1),
        new("decr", 2, CommandFlags.Write | CommandFlags.Fast | CommandFlags.MayDefer, c => IncrementBy(c, -1), "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", 1, 1, 1),
        new("incrby", 3, CommandFlags.Write | CommandFlags.Fast | CommandFlags.MayDefer, c => IncrementByArgument(c, negate: false), "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", 1, 1, 1),
        new("decrby", 3, CommandFlags.Write | CommandFlags.Fast | CommandFlags.MayDefer, c => IncrementByArgument(c, negate: true), "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", 1, 1, 1),
        new("incrbyfloat", 3, CommandFlags.Write | CommandFlags.Fast | CommandFlags.MayDefer, IncrementByFloat, "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", 1, 1, 1),
        new("append", 3, CommandFlags.Write | CommandFlags.MayDefer, Append, "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", 1, 1, 1),
        new("strlen", 2, CommandFlags.ReadOnly | CommandFlags.Fast, StrLen, "string", "Returns the length of a string value.", 1, 1, 1),
        new("getrange", 4, CommandFlags.ReadOnly, GetRange, "string", "Returns a substring of the string stored at a key.", 1, 1, 1),
        new("setrange", 4, CommandFlags.Write | CommandFlags.MayDefer, SetRange, "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", 1, 1, 1),
        new("getset", 3, CommandFlags.Write | CommandFlags.Fast, GetSet, "string", "Returns the previous string value of a key after setting it to a new value (the key's expiry is removed).", 1, 1, 1),
    ];

    /// <summary>
    /// The command's read-modify-write of its key (argument 1). On a store whose write failures are not replies (one
    /// node) it returns once the write is handed off and leaves the durability of what it wrote and read to the
    /// connection (<see cref="CommandContext.Defer"/>): the reply is written now and sent only when durable, so a
    /// connection's pipelined INCRs share group commits, as its SETs do (these commands are
    /// <see cref="CommandFlags.MayDefer"/>). A cluster's write fails as a reply, so there it completes when durable.
    /// </summary>
    private static async ValueTask<bool> UpdateAsync(CommandContext c, ValueUpdate update)
    {
        if (c.Keyspace.WriteFailuresAreReplies) return await c.Keyspace.UpdateValueAsync(c.Request.Memory(1), update).ConfigureAwait(false);
        var (written, durable) = await c.Keyspace.UpdateValueHandedOffAsync(c.Request.Memory(1), update).ConfigureAwait(false);
        c.Defer(durable);
        return written;
    }

    private static ValueTask IncrementByArgument(CommandContext c, bool negate)
    {
        if (!c.TryGetInt64(2, out var by))
        {
            c.WriteNotInteger();
            return default;
        }
        if (negate && by == long.MinValue)
        {
            c.Reply.WriteError("ERR decrement would overflow"u8);
            return default;
        }
        return IncrementBy(c, negate ? -by : by);
    }

    private static async ValueTask IncrementBy(CommandContext c, long by)
    {
        string? error = null;
        long result = 0;
        var written = await UpdateAsync(c, (found, current, next) =>
        {
            long value = 0;
            if (found && !CommandContext.TryParseInteger(current, out value))
            {
                error = "ERR value is not an integer or out of range";
                return false;
            }
            if ((by > 0 && value > long.MaxValue - by) || (by < 0 && value < long.MinValue - by))
            {
                error = "ERR increment or decrement would overflow";
                return false;
            }
            result = value + by;
            var span = next.GetSpan(20);
            Utf8Formatter.TryFormat(result, span, out var length);
            next.Advance(length);
            return true;
        }).ConfigureAwait(false);
        if (written) c.Reply.WriteInteger(result);
        else c.Reply.WriteError(error!);
    }

    private static async ValueTask IncrementByFloat(CommandContext c)
    {
        if (!TryParseFloat(c.Request[2], out var by))
        {
            c.Reply.WriteError("ERR value is not a valid float"u8);
            return;
        }
        string? error = null;
        byte[] result = [];
        var written = await UpdateAsync(c, (found, current, next) =>
        {
            double value = 0;
            if (found && !TryParseFloat(current, out value))
            {
                error = "ERR value is not a valid float";
                return false;
            }
            var sum = value + by;
            if (double.IsNaN(sum) || double.IsInfinity(sum))
            {
                error = "ERR increment would produce NaN or Infinity";
                return false;
            }
            result = Encoding.ASCII.GetBytes(FormatFloat(sum));
            next.Write(result);
            return true;
        }).ConfigureAwait(false);
        if (written) c.Reply.WriteBulk(result);
        else c.Reply.WriteError(error!);
    }

    /// <summary>Redis's float rule for INCRBYFLOAT: a decimal number, optionally with an exponent; no spaces, no
    /// hexadecimal, no "inf" or "nan".</summary>
    internal static bool TryParseFloat(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 5000) return false;
        foreach (var b in text)
        {
            if (!(b is >= (byte)'0' and <= (byte)'9' or (byte)'.' or (byte)'-' or (byte)'+' or (byte)'e' or (byte)'E')) return false;
        }
        return double.TryParse(Encoding.ASCII.GetString(text), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    /// <summary>The shortest text that reads back as <paramref name="value"/>, without an exponent (as Redis writes
    /// INCRBYFLOAT's result; Redis computes in long double, so its last digits may differ: 0.1 + 0.2 is 0.3 there and
    /// 0.30000000000000004 here).</summary>
    internal static string FormatFloat(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E', StringComparison.Ordinal)) text = value.ToString("0.#############################################################", CultureInfo.InvariantCulture);
        return text;
    }

    private static async ValueTask Append(CommandContext c)
    {
        var suffix = c.Request.Memory(2);
        var limit = c.Server.Options.MaxBulkLength;
        long length = 0;
        var written = await UpdateAsync(c, (_, current, next) =>
        {
            if ((long)current.Length + suffix.Length > limit) return false;
            next.Write(current);
            next.Write(suffix.Span);
            length = current.Length + suffix.Length;
            return true;
        }).ConfigureAwait(false);
        if (written) c.Reply.WriteInteger(length);
        else c.Reply.WriteError("ERR string exceeds maximum allowed size (proto-max-bulk-len)"u8);
    }

    /// <summary>SETRANGE key offset value: zero bytes pad a value shorter than the offset; an empty value changes nothing
    /// (and creates no key); the reply is the value's length afterwards. The key keeps its expiry.</summary>
    private static async ValueTask SetRange(CommandContext c)
    {
        if (!c.TryGetInt64(2, out var offset))
        {
            c.WriteNotInteger();
            return;
        }
        if (offset < 0)
        {
            c.Reply.WriteError("ERR offset is out of range"u8);
            return;
        }
        var patch = c.Request.Memory(3);
        if (!patch.IsEmpty && offset + patch.Length > c.Server.Options.MaxBulkLength)
        {
            c.Reply.WriteError("ERR string exceeds maximum allowed size (proto-max-bulk-len)"u8);
            return;
        }
        long length = 0;
        await UpdateAsync(c, (_, current, next) =>
        {
            length = current.Length;
            if (patch.IsEmpty) return false;
            var end = (int)offset + patch.Length;
            var buffer = next.GetSpan(Math.Max(end, current.Length));
            current.CopyTo(buffer);
            if (offset > current.Length) buffer[current.Length..(int)offset].Clear();
            patch.Span.CopyTo(buffer[(int)offset..]);
            length = Math.Max(end, current.Length);
            next.Advance((int)length);
            return true;
        }).ConfigureAwait(false);
        c.Reply.WriteInteger(length);
    }

    private static async ValueTask StrLen(CommandContext c)
    {
        c.Value.Reset();
        var lookup = await c.Keyspace.GetAsync(c.Request.Memory(1), c.Value).ConfigureAwait(false);
        c.Reply.WriteInteger(lookup.Found ? c.Value.WrittenSpan.Length : 0);
    }

    private static async ValueTask GetRange(CommandContext c)
    {
        if (!c.TryGetInt64(2, out var start) || !c.TryGetInt64(3, out var end))
        {
            c.WriteNotInteger();
            return;
        }
        c.Value.Reset();
        var lookup = await c.Keyspace.GetAsync(c.Request.Memory(1), c.Value).ConfigureAwait(false);
        var value = lookup.Found ? c.Value.WrittenSpan : default;
        var (from, count) = Range(value.Length, start, end);
        c.Reply.WriteBulk(value.Slice(from, count));
    }

    /// <summary>GETRANGE's indices (negative ones count from the end, both inclusive, clamped to the value) as an offset
    /// and a length; an empty range is (0, 0).</summary>
    internal static (int From, int Count) Range(int length, long start, long end)
    {
        if (length == 0 || (start < 0 && end < 0 && start > end)) return (0, 0);
        if (start < 0) start = Math.Max(0, length + start);
        if (end < 0) end = Math.Max(0, length + end);
        if (end >= length) end = length - 1;
        if (start > end) return (0, 0);
        return ((int)start, (int)(end - start + 1));
    }

    private static async ValueTask GetSet(CommandContext c)
    {
        c.Value.Reset();
        var result = await c.Keyspace.SetAsync(c.Request.Memory(1), c.Request.Memory(2), new SetOptions(SetCondition.Always, 0, false), c.Value).ConfigureAwait(false);
        c.WriteLookup(result.Previous, c.Value.WrittenSpan);
    }
}
