using System.IO.Hashing;
using System.Numerics;

namespace Kv.Engine.Memtable;

/// <summary>
/// A point-lookup index beside the skiplist: user key → the skiplist node that comes first for that key (its
/// winning version, before the tie scan), so a get costs one or two cache misses instead of the skiplist's
/// descent (~30 misses in a 300k-entry memtable), and a miss usually ends at the first empty slot.
/// <code>
/// // slots := (hash: u64 | node: i64) * capacity      open addressing, linear probing, capacity a power of 2
/// // hash  := XxHash3(user key) | 1                   0 marks an empty slot
/// // home  := (hash >> 32) &amp; (capacity - 1)         the first slot probed (high bits: the low bit is always 1)
/// </code>
/// Fixed size, chosen from the memtable's size limit: 16 bytes a slot, one slot per 100 bytes of memtable,
/// filled to at most 60%. A memtable of many tiny entries can outgrow it; then the index switches itself off
/// (<see cref="IsOverflowed"/>) and lookups go back to the skiplist, so it never costs correctness, only speed.
/// </summary>
/// <remarks>
/// Threading: one writer (the memtable's) calls <see cref="Upsert"/>; readers call <see cref="Find"/> without
/// locks. A new slot's node is written before its hash (a volatile release store) and readers load the hash
/// with acquire semantics, so a reader that sees a hash sees its node; a slot never changes its key, only its
/// node (a newer winning version), which a reader sees as either the old or the new winner. The writer
/// updates the index after the node is linked and sets <see cref="IsOverflowed"/> before it stops updating;
/// a reader that started before a write finished may miss that write, as with the skiplist itself.
/// </remarks>
internal sealed class MemtableHashIndex
{
    /// <summary>Memtable bytes per slot: entries are rarely smaller (node header, key, value).</summary>
    private const int BytesPerSlot = 100;
    private const int MinSlots = 16;
    private const int MaxSlots = 1 << 24;

    private long[] _slots;
    private readonly int _mask;
    private readonly int _limit;
    private readonly MemtableMemoryPool? _pool;
    private int _count;
    private volatile bool _overflowed;

    /// <param name="hugePages">Pin the slots and advise them for huge pages (<see cref="HugePages"/>): a probe is a
    /// jump to a random slot of an array of several MiB.</param>
    /// <param name="pool">Where the slots come from when it has an array of the right length (cleared here), and go
    /// back to on <see cref="ReturnSlots"/>.</param>
    public MemtableHashIndex(long memtableBytes, bool hugePages = false, MemtableMemoryPool? pool = null)
    {
        var wanted = (int)Math.Clamp(memtableBytes / BytesPerSlot, MinSlots, MaxSlots);
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)wanted);
        _pool = pool;
        if (pool?.TryTakeSlots(2 * capacity) is { } reused)
        {
            _slots = reused;
            Array.Clear(_slots); // already mapped: a memset, not a page fault and a kernel clear per page
        }
        else if (hugePages && 16L * capacity >= 2 * HugePages.Size)
        {
            _slots = HugePages.AllocateUninitialized<long>(2 * capacity, advise: true, out _);
            Array.Clear(_slots); // after the advice: this first touch is what faults the huge pages in
        }
        else
        {
            _slots = new long[2 * capacity];
        }
        _mask = capacity - 1;
        _limit = capacity * 6 / 10;
    }

    /// <summary>The index filled up and no longer tracks new keys: look in the skiplist instead.</summary>
    public bool IsOverflowed => _overflowed;

    /// <summary>Distinct user keys indexed.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes the index holds.</summary>
    public long MemoryBytes => 8L * _slots.Length;

    public static ulong Hash(ReadOnlySpan<byte> userKey) => XxHash3.HashToUInt64(userKey) | 1;

    /// <summary>
    /// The node recorded for <paramref name="userKey"/>, or 0 when the key is not in the memtable (only meaningful
    /// while not <see cref="IsOverflowed"/>; check that first).
    /// </summary>
    /// <param name="userKeyOf">Reads a node's user key (the index stores no keys).</param>
    public long Find<TKeys>(ulong hash, ReadOnlySpan<byte> userKey, TKeys userKeyOf)
        where TKeys : INodeKeys, allows ref struct
    {
        var slots = _slots;
        for (var i = (int)(hash >> 32) & _mask; ; i = (i + 1) & _mask)
        {
            var h = (ulong)Volatile.Read(ref slots[2 * i]);
            if (h == 0) return 0;
            if (h != hash) continue;
            var node = Volatile.Read(ref slots[(2 * i) + 1]);
            if (userKeyOf.UserKey(node).SequenceEqual(userKey)) return node;
        }
    }

    /// <summary>Records <paramref name="node"/> as the first node of its user key. Single writer.</summary>
    public void Upsert<TKeys>(ulong hash, ReadOnlySpan<byte> userKey, long node, TKeys userKeyOf)
        where TKeys : INodeKeys, allows ref struct
    {
        if (_overflowed) return;
        var slots = _slots;
        for (var i = (int)(hash >> 32) & _mask; ; i = (i + 1) & _mask)
        {
            var h = (ulong)slots[2 * i];
            if (h == 0)
            {
                if (_count >= _limit)
                {
                    _overflowed = true;
                    return;
                }
                slots[(2 * i) + 1] = node;
                Volatile.Write(ref slots[2 * i], (long)hash);
                Volatile.Write(ref _count, _count + 1);
                return;
            }
            if (h == hash && userKeyOf.UserKey(slots[(2 * i) + 1]).SequenceEqual(userKey))
            {
                Volatile.Write(ref slots[(2 * i) + 1], node);
                return;
            }
        }
    }

    /// <summary>Gives the slots to the pool and switches the index off. The owner calls this once no reader or writer
    /// can use the index any more.</summary>
    public void ReturnSlots()
    {
        var slots = _slots;
        _overflowed = true;
        _slots = [];
        _pool?.ReturnSlots(slots);
    }

    /// <summary>How the index reads the user key of a node it points at.</summary>
    public interface INodeKeys
    {
        ReadOnlySpan<byte> UserKey(long node);
    }
}
