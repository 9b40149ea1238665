using System.Buffers;
using Kv.Node.Storage;
using Kv.Protocol.Buffers;

namespace Kv.Node.Resp;

/// <summary>GET, SET, SETEX, PSETEX, SETNX, GETDEL, GETEX, MGET, MSET.</summary>
internal static class StringCommands
{
    private static readonly byte[] SetExInvalidTime = "ERR invalid expire time in 'setex' command"u8.ToArray();
    private static readonly byte[] PSetExInvalidTime = "ERR invalid expire time in 'psetex' command"u8.ToArray();

    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("get", 2, CommandFlags.ReadOnly | CommandFlags.Fast, Get, "string", "Returns the string value of a key.", 1, 1, 1),
        new("set", -3, CommandFlags.Write | CommandFlags.MayDefer, Set, "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", 1, 1, 1),
        new("setex", 4, CommandFlags.Write | CommandFlags.MayDefer, c => SetEx(c, ExpiryArguments.Unit.Seconds, SetExInvalidTime), "string", "Sets the string value and expiration time (seconds) of a key.", 1, 1, 1),
        new("psetex", 4, CommandFlags.Write | CommandFlags.MayDefer, c => SetEx(c, ExpiryArguments.Unit.Milliseconds, PSetExInvalidTime), "string", "Sets the string value and expiration time (milliseconds) of a key.", 1, 1, 1),
        new("setnx", 3, CommandFlags.Write | CommandFlags.Fast, SetNx, "string", "Set the string value of a key only when the key doesn't exist.", 1, 1, 1),
        new("getdel", 2, CommandFlags.Write | CommandFlags.Fast, GetDel, "string", "Returns the string value of a key after deleting the key.", 1, 1, 1),
        new("getex", -2, CommandFlags.Write | CommandFlags.Fast, GetEx, "string", "Returns the string value of a key after setting its expiration time.", 1, 1, 1),
        new("mget", -2, CommandFlags.ReadOnly | CommandFlags.Fast, MGet, "string", "Atomically returns the string values of one or more keys.", 1, -1, 1),
        new("mset", -3, CommandFlags.Write, MSet, "string", "Atomically creates or modifies the string values of one or more keys.", 1, -1, 2),
        new("msetnx", -3, CommandFlags.Write, MSetNx, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist (atomic on one node only; see docs/cluster.md).", 1, -1, 2),
    ];

    private static ValueTask Get(CommandContext c)
    {
        var value = c.NextValueBuffer();
        var lookup = c.Keyspace.GetAsync(c.Request.Memory(1), value);
        if (lookup.IsCompletedSuccessfully && !c.HasPendingWrites)
        {
            c.WriteLookup(lookup.Result, value.WrittenSpan);
            return default;
        }
        // A read still waiting for replicas (or one behind other deferred GETs): replied in order when the connection drains.
        c.DeferValue(lookup);
        return default;
    }

    private static void WriteValue(CommandContext c, KeyLookup lookup) => c.WriteLookup(lookup, c.Value.WrittenSpan);

    private static ValueTask Set(CommandContext c)
    {
        var r = c.Request;
        if (r.Count == 3)
        {
            c.DeferOk(c.Keyspace.SetAsync(r.Memory(1), r.Memory(2), 0));
            return default;
        }
        var condition = SetCondition.Always;
        var returnOld = false;
        var keepTtl = false;
        var hasExpiry = false;
        long expiresAt = 0;
        for (var i = 3; i < r.Count; i++)
        {
            if (c.ArgIs(i, "NX"u8) && condition == SetCondition.Always) condition = SetCondition.IfAbsent;
            else if (c.ArgIs(i, "XX"u8) && condition == SetCondition.Always) condition = SetCondition.IfPresent;
            else if (c.ArgIs(i, "GET"u8) && !returnOld) returnOld = true;
            else if (c.ArgIs(i, "KEEPTTL"u8) && !keepTtl && !hasExpiry) keepTtl = true;
            else if (!hasExpiry && !keepTtl && i + 1 < r.Count && TryExpiryUnit(c, i, out var unit))
            {
                if (!c.TryGetInt64(i + 1, out var amount))
                {
                    c.WriteNotInteger();
                    return default;
                }
                if (!ExpiryArguments.TryToAbsolute(amount, unit, c.NowUnixMs, mustBePositive: true, out expiresAt))
                {
                    c.Reply.WriteError("ERR invalid expire time in 'set' command"u8);
                    return default;
                }
                hasExpiry = true;
                i++;
            }
            else
            {
                c.WriteSyntaxError();
                return default;
            }
        }
        if (condition == SetCondition.Always && !returnOld && !keepTtl)
        {
            c.DeferOk(c.Keyspace.SetAsync(r.Memory(1), r.Memory(2), expiresAt));
            return default;
        }
        return SetConditionalAsync(c, new SetOptions(condition, expiresAt, keepTtl), returnOld);
    }

    private static ValueTask SetEx(CommandContext c, ExpiryArguments.Unit unit, byte[] invalidTime)
    {
        if (!c.TryGetInt64(2, out var amount))
        {
            c.WriteNotInteger();
            return default;
        }
        if (!ExpiryArguments.TryToAbsolute(amount, unit, c.NowUnixMs, mustBePositive: true, out var expiresAt))
        {
            c.Reply.WriteError(invalidTime);
            return default;
        }
        c.DeferOk(c.Keyspace.SetAsync(c.Request.Memory(1), c.Request.Memory(3), expiresAt));
        return default;
    }

    private static bool TryExpiryUnit(CommandContext c, int i, out ExpiryArguments.Unit unit)
    {
        unit = default;
        if (c.ArgIs(i, "EX"u8)) unit = ExpiryArguments.Unit.Seconds;
        else if (c.ArgIs(i, "PX"u8)) unit = ExpiryArguments.Unit.Milliseconds;
        else if (c.ArgIs(i, "EXAT"u8)) unit = ExpiryArguments.Unit.UnixSeconds;
        else if (c.ArgIs(i, "PXAT"u8)) unit = ExpiryArguments.Unit.UnixMilliseconds;
        else return false;
        return true;
    }

    private static async ValueTask SetConditionalAsync(CommandContext c, SetOptions options, bool returnOld)
    {
        await c.DrainAsync().ConfigureAwait(false);
        c.Value.Reset();
        var result = await c.Keyspace.SetAsync(c.Request.Memory(1), c.Request.Memory(2), options, returnOld ? c.Value : null).ConfigureAwait(false);
        if (returnOld)
        {
            if (result.Previous.Found) c.Reply.WriteBulk(c.Value.WrittenSpan);
            else c.Reply.WriteNull();
        }
        else if (result.Written)
        {
            c.Reply.WriteOk();
        }
        else
        {
            c.Reply.WriteNull();
        }
    }

    private static async ValueTask SetNx(CommandContext c)
    {
        var result = await c.Keyspace.SetAsync(c.Request.Memory(1), c.Request.Memory(2), new SetOptions(SetCondition.IfAbsent, 0, false), null).ConfigureAwait(false);
        c.Reply.WriteInteger(result.Written ? 1 : 0);
    }

    private static async ValueTask GetDel(CommandContext c)
    {
        c.Value.Reset();
        var lookup = await c.Keyspace.GetAndDeleteAsync(c.Request.Memory(1), c.Value).ConfigureAwait(false);
        WriteValue(c, lookup);
    }

    private static async ValueTask GetEx(CommandContext c)
    {
        var r = c.Request;
        var update = ExpiryUpdate.Keep;
        for (var i = 2; i < r.Count; i++)
        {
            if (update.Action != ExpiryAction.Keep)
            {
                c.WriteSyntaxError();
                return;
            }
            if (c.ArgIs(i, "PERSIST"u8))
            {
                update = ExpiryUpdate.Persist;
            }
            else if (i + 1 < r.Count && TryExpiryUnit(c, i, out var unit))
            {
                if (!c.TryGetInt64(i + 1, out var amount))
                {
                    c.WriteNotInteger();
                    return;
                }
                if (!ExpiryArguments.TryToAbsolute(amount, unit, c.NowUnixMs, mustBePositive: true, out var at))
                {
                    c.Reply.WriteError("ERR invalid expire time in 'getex' command"u8);
                    return;
                }
                update = new ExpiryUpdate(ExpiryAction.Set, at);
                i++;
            }
            else
            {
                c.WriteSyntaxError();
                return;
            }
        }
        c.Value.Reset();
        var lookup = await c.Keyspace.GetAndUpdateExpiryAsync(r.Memory(1), c.Value, update).ConfigureAwait(false);
        WriteValue(c, lookup);
    }

    /// <summary>Keys of one MGET looked up side by side once a lookup has to wait (a cluster read waiting for its replicas).</summary>
    internal const int MGetWindow = 32;

    /// <summary>
    /// MGET: values are gathered first and the reply written only when every key was read, so a key whose read fails
    /// (a cluster's TIMEOUT) makes the whole reply one error instead of a half-written array. Lookups that complete at
    /// once (a local engine) append straight to <see cref="CommandContext.Value"/>; from the first that has to wait,
    /// up to <see cref="MGetWindow"/> keys are read side by side, each into a buffer of its own.
    /// </summary>
    private static ValueTask MGet(CommandContext c)
    {
        var count = c.Request.Count - 1;
        var lengths = ArrayPool<int>.Shared.Rent(count); // a found value's length, -1 for nil
        var values = c.Value;
        values.Reset();
        var handedOn = false;
        try
        {
            for (var i = 0; i < count; i++)
            {
                var mark = values.WrittenCount;
                var lookup = c.Keyspace.GetAsync(c.Request.Memory(i + 1), values);
                if (!lookup.IsCompletedSuccessfully)
                {
                    handedOn = true; // the rest returns the lengths
                    return MGetSideBySideAsync(c, lengths, i, lookup, mark);
                }
                lengths[i] = lookup.Result.Found ? values.WrittenCount - mark : -1;
            }
            WriteMGetReply(c, lengths, count);
            return default;
        }
        finally
        {
            if (!handedOn) ArrayPool<int>.Shared.Return(lengths);
        }
    }

    /// <param name="waiting">The key whose lookup has to wait; it appends to <see cref="CommandContext.Value"/> from <paramref name="waitingMark"/> on.</param>
    private static async ValueTask MGetSideBySideAsync(CommandContext c, int[] lengths, int waiting, ValueTask<KeyLookup> waitingLookup, int waitingMark)
    {
        var r = c.Request;
        var count = r.Count - 1;
        var values = c.Value;
        var window = Math.Min(MGetWindow, count - waiting - 1);
        var buffers = new PooledBufferWriter[window];
        var lookups = new ValueTask<KeyLookup>[window];
        var next = waiting + 1; // the next key whose lookup has not started
        var started = 0;
        var waitingDone = false;
        try
        {
            for (; started < window; started++, next++)
            {
                buffers[started] = new PooledBufferWriter(256);
                lookups[started] = c.Keyspace.GetAsync(r.Memory(next + 1), buffers[started]);
            }
            waitingDone = true;
            lengths[waiting] = (await waitingLookup.ConfigureAwait(false)).Found ? values.WrittenCount - waitingMark : -1;
            for (var i = waiting + 1; i < count; i++)
            {
                var slot = (i - waiting - 1) % window;
                var running = lookups[slot];
                lookups[slot] = default; // awaited once only, here (the cleanup below awaits what is left)
                var lookup = await running.ConfigureAwait(false);
                lengths[i] = lookup.Found ? buffers[slot].WrittenCount : -1;
                if (lookup.Found) values.Write(buffers[slot].WrittenSpan);
                if (next < count)
                {
                    buffers[slot].Reset();
                    lookups[slot] = c.Keyspace.GetAsync(r.Memory(next + 1), buffers[slot]);
                    next++;
                }
            }
            WriteMGetReply(c, lengths, count);
        }
        finally
        {
            // On a failure, lookups still running write into these buffers (and the waiting one into Value, which the
            // connection reuses): let them finish before the buffers go back.
            if (!waitingDone)
            {
                try
                {
                    await waitingLookup.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The failure that got here is the one being reported.
                }
            }
            if (started < window) buffers[started]?.Dispose(); // its lookup threw before it started
            for (var slot = 0; slot < started; slot++)
            {
                try
                {
                    await lookups[slot].ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The first failure is the one being reported.
                }
                buffers[slot].Dispose();
            }
            ArrayPool<int>.Shared.Return(lengths);
        }
    }

    private static void WriteMGetReply(CommandContext c, int[] lengths, int count)
    {
        c.Reply.WriteArrayHeader(count);
        var values = c.Value.WrittenSpan;
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            if (lengths[i] < 0)
            {
                c.WriteLookup(KeyLookup.Absent, default);
                continue;
            }
            c.WriteLookup(new KeyLookup(true, 0), values.Slice(at, lengths[i]));
            at += lengths[i];
        }
    }

    private static ValueTask MSet(CommandContext c) => SetPairs(c, onlyIfNoneExist: false);

    private static ValueTask MSetNx(CommandContext c) => SetPairs(c, onlyIfNoneExist: true);

    private static async ValueTask SetPairs(CommandContext c, bool onlyIfNoneExist)
    {
        var r = c.Request;
        if ((r.Count - 1) % 2 != 0)
        {
            c.Reply.WriteError(onlyIfNoneExist ? "ERR wrong number of arguments for 'msetnx' command"u8 : "ERR wrong number of arguments for 'mset' command"u8);
            return;
        }
        var count = (r.Count - 1) / 2;
        var pairs = ArrayPool<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>>.Shared.Rent(count);
        var written = true;
        try
        {
            for (var i = 0; i < count; i++) pairs[i] = new(r.Memory(1 + (2 * i)), r.Memory(2 + (2 * i)));
            if (onlyIfNoneExist) written = await c.Keyspace.SetManyIfNoneExistAsync(pairs.AsMemory(0, count)).ConfigureAwait(false);
            else await c.Keyspace.SetManyAsync(pairs.AsMemory(0, count)).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>>.Shared.Return(pairs, clearArray: true);
        }
        if (onlyIfNoneExist) c.Reply.WriteInteger(written ? 1 : 0);
        else c.Reply.WriteOk();
    }
}
