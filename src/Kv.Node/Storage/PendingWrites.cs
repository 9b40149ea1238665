namespace Kv.Node.Storage;

/// <summary>
/// Per lock stripe, the writes of read-modify-writes (INCR, APPEND, SET NX, GETDEL, EXPIRE...) that were handed to the
/// engine and are not applied yet, with the version each wrote, so the next read-modify-write of the same key reads that
/// version instead of waiting for the group commit to make it readable.
/// </summary>
/// <remarks>
/// Without this a read-modify-write held its stripe's lock until its write was durable, so read-modify-writes of one key
/// ran one group commit (one fsync) each: redis-benchmark's INCR test, 50 clients incrementing one counter, ran 4-6k
/// requests/s against Redis's 60k+ on the same disk. Now the lock is released when the write is handed off, and the
/// writes of a hot key share group commits as plain SETs do.
/// <para>Why reading a version that is not durable yet is safe: the command that read it is acknowledged only after that
/// version's write has completed too (<see cref="PendingWrite.Applied"/> is awaited after the command's own write), so no
/// reply ever shows a state that could still be lost. If that earlier write failed, the later command fails as well (and
/// an engine whose WAL failed refuses every later write anyway).</para>
/// <para>A version is only a candidate: the engine may hold a newer one (a plain SET that came after the read-modify-write
/// released the lock, drained by <see cref="BlindWrites"/>), so the reader keeps whichever has the newer timestamp.</para>
/// <para>Only small values are kept (<see cref="MaxValueLength"/>); a read-modify-write writing a bigger one keeps its lock
/// until its write is applied, so an APPEND building a large value never leaves copies of it here. Entries are dropped
/// lazily, by the next read-modify-write of the stripe, once applied.</para>
/// Threading: every member is called with the stripe's lock held, so a stripe's list is never touched concurrently.
/// </remarks>
internal sealed class PendingWrites(int stripes)
{
    /// <summary>Largest value a pending version keeps (bytes); bigger writes are not tracked (see the remarks).</summary>
    public const int MaxValueLength = 4096;

    private readonly List<PendingWrite>?[] _stripes = new List<PendingWrite>?[stripes];

    /// <summary>Writes of <paramref name="stripe"/> recorded and not yet seen applied (for tests).</summary>
    public int Count(int stripe) => _stripes[stripe]?.Count ?? 0;

    /// <summary>Records a write handed to the engine that has not completed. Caller holds the stripe's lock.</summary>
    public void Add(int stripe, PendingWrite write)
    {
        var list = _stripes[stripe] ??= [];
        DropApplied(list);
        list.Add(write);
    }

    /// <summary>The newest write of <paramref name="key"/> on <paramref name="stripe"/> not yet applied, or null.
    /// Caller holds the stripe's lock.</summary>
    public PendingWrite? Newest(int stripe, ReadOnlySpan<byte> key)
    {
        if (_stripes[stripe] is not { } list) return null;
        DropApplied(list);
        for (var i = list.Count - 1; i >= 0; i--)
        {
            var write = list[i];
            if (!write.Applied.IsCompleted && key.SequenceEqual(write.Key)) return write;
        }
        return null;
    }

    /// <summary>Completes when every write recorded on <paramref name="stripe"/> has completed (applied or failed), for
    /// commands that read several keys and simply wait instead. Caller holds the stripe's lock.</summary>
    public async ValueTask DrainAsync(int stripe)
    {
        if (_stripes[stripe] is not { } list) return;
        DropApplied(list);
        while (list.Count > 0)
        {
            // A failed write is reported by the command that made it; this one only waits for it to end.
            await list[^1].Applied.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            list.RemoveAt(list.Count - 1);
            DropApplied(list);
        }
    }

    // Writes complete in about the order they were handed off, so applied ones gather at the front.
    private static void DropApplied(List<PendingWrite> list)
    {
        var applied = 0;
        while (applied < list.Count && list[applied].Applied.IsCompleted) applied++;
        if (applied > 0) list.RemoveRange(0, applied);
    }
}

/// <summary>A read-modify-write's version of <see cref="Key"/> (user key): <see cref="Value"/> null for a deletion,
/// <see cref="ExpiresAtUnixMs"/> 0 for none, <see cref="Timestamp"/> its HLC timestamp, <see cref="Applied"/> its
/// engine write (completed once durable and readable, or failed).</summary>
internal sealed record PendingWrite(byte[] Key, byte[]? Value, long ExpiresAtUnixMs, long Timestamp, Task Applied);
