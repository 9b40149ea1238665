using System.Diagnostics.CodeAnalysis;

namespace Kv.Engine.Cache;

/// <summary>
/// A byte-bounded cache of decompressed, checksum-verified table blocks, keyed by (file number, block offset),
/// shared by every table reader of a store.
/// </summary>
/// <remarks>
/// Threading: all members are thread-safe. The cache is split into shards, each with its own lock for writers.
/// A hit takes no lock: each shard indexes its entries in an open-addressed table (linear probing) of inline
/// slots, and a reader checks the shard's sequence number before and after probing it, retrying if a writer
/// changed the table meanwhile (a seqlock). A slot holds the key and the block itself, so a hit costs one probe of
/// the slot array before the block is in hand; with a general-purpose dictionary it cost three dependent loads
/// (bucket, dictionary node, cache node), each likely a CPU cache miss under a point-read load
/// (<c>BlockCacheBenchmarks</c>: docs/engine.md).
/// Replacement is CLOCK (second chance), not strict LRU: a hit only sets the entry's referenced flag, where moving
/// it to the front of a list would write two neighbours and the head as well. Entries sit in a ring; to make room,
/// the hand walks it, clearing referenced flags and evicting the first entry found unmarked, so an entry read since
/// the hand last passed survives one more round. New entries go just behind the hand, so they get a whole round to
/// be read. Cached arrays are immutable by contract: whoever inserts one never writes it again, and readers only
/// read it, so an array stays valid for a reader that holds it after it has been evicted (eviction just drops the
/// cache's reference). File numbers are never reused by the engine, so entries of a deleted table can never be
/// mistaken for another's; they simply age out (or go at once with <see cref="EvictFile"/>).
/// Each shard holds at most capacity / shard count bytes (block length plus a fixed per-entry overhead); a block
/// bigger than a shard is not cached. Hit and miss counts are kept per processor, so two cores reading blocks do
/// not contend for one counter's cache line.
/// </remarks>
public sealed class BlockCache
{
    /// <summary>Bytes charged per entry on top of the block itself: the ring node (~72), its index slots (32 bytes,
    /// and the table is kept at most half full) and the array header.</summary>
    public const int EntryOverhead = 160;

    private readonly Shard[] _shards;
    private readonly int _shardShift;
    private readonly StripedCounters _counters = new();

    public BlockCache(long capacityBytes, int shardCount = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardCount, 1 << 16);
        var bits = 0;
        while ((1 << bits) < shardCount) bits++;
        _shards = new Shard[1 << bits];
        var perShard = capacityBytes / _shards.Length;
        for (var i = 0; i < _shards.Length; i++) _shards[i] = new Shard(perShard);
        _shardShift = 64 - bits;
        Capacity = perShard * _shards.Length;
    }

    /// <summary>Total byte bound (rounded down to a multiple of the shard count).</summary>
    public long Capacity { get; }

    public int ShardCount => _shards.Length;

    /// <summary>Bytes currently charged (blocks plus <see cref="EntryOverhead"/> each); never above <see cref="Capacity"/>.</summary>
    public long Usage
    {
        get
        {
            long sum = 0;
            foreach (var s in _shards) sum += Volatile.Read(ref s.Usage);
            return sum;
        }
    }

    public int Count
    {
        get
        {
            var sum = 0;
            foreach (var s in _shards) { lock (s.Lock) sum += s.Count; }
            return sum;
        }
    }

    public long Hits => _counters.Sum(StripedCounters.Hit);

    public long Misses => _counters.Sum(StripedCounters.Miss);

    /// <summary>Hits / (hits + misses), 0 before the first lookup.</summary>
    public double HitRate
    {
        get
        {
            var h = Hits;
            var total = h + Misses;
            return total == 0 ? 0 : (double)h / total;
        }
    }

    /// <summary>Looks a block up; a hit marks it referenced, sparing it from the next eviction round.</summary>
    public bool TryGet(ulong fileNumber, long blockOffset, [NotNullWhen(true)] out byte[]? block)
    {
        var hash = Hash(fileNumber, blockOffset);
        if (!ShardFor(hash).TryFind(hash, fileNumber, blockOffset, out block, out var node))
        {
            _counters.Increment(StripedCounters.Miss);
            return false;
        }
        // A node evicted since the probe still holds its immutable block; marking it referenced then changes nothing.
        if (!node.Referenced) node.Referenced = true;
        _counters.Increment(StripedCounters.Hit);
        return true;
    }

    /// <summary>
    /// A new array for a block that will be cached: allocated on the pinned object heap, which is collected only with
    /// generation 2 and never copied. A cached block lives until evicted, so an ordinary array would be copied by the
    /// young-generation collections that promote it: a memtable flush inserts tens of megabytes of blocks at once, and
    /// with ordinary arrays the next generation-0 collection stopped every thread for 15-40 ms to copy them
    /// (docs/engine.md, "Cached blocks and the GC").
    /// </summary>
    public static byte[] NewBlock(int length) => GC.AllocateUninitializedArray<byte>(length, pinned: true);

    /// <summary>A copy of <paramref name="contents"/> made by <see cref="NewBlock"/>.</summary>
    public static byte[] CopyBlock(ReadOnlySpan<byte> contents)
    {
        var block = NewBlock(contents.Length);
        contents.CopyTo(block);
        return block;
    }

    /// <summary>Caches <paramref name="block"/> (which the caller must never modify again), evicting blocks of the
    /// shard not referenced since the clock hand last passed, as needed. A block already cached under the same key
    /// is replaced.</summary>
    public void Insert(ulong fileNumber, long blockOffset, byte[] block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var hash = Hash(fileNumber, blockOffset);
        var shard = ShardFor(hash);
        var charge = (long)block.Length + EntryOverhead;
        if (charge > shard.Capacity) return;
        lock (shard.Lock)
        {
            shard.BeginWrite();
            try
            {
                if (shard.Remove(hash, fileNumber, blockOffset) is { } existing)
                {
                    shard.Unlink(existing);
                    shard.Usage -= existing.Charge;
                }
                while (shard.Usage + charge > shard.Capacity && shard.NextVictim() is { } victim)
                {
                    shard.Unlink(victim);
                    shard.Remove(Hash(victim.FileNumber, victim.BlockOffset), victim.FileNumber, victim.BlockOffset);
                    shard.Usage -= victim.Charge;
                }
                var node = new Node(fileNumber, blockOffset, block, charge);
                shard.Add(hash, node);
                shard.LinkBehindHand(node);
                shard.Usage += charge;
            }
            finally
            {
                shard.EndWrite();
            }
        }
    }

    /// <summary>Drops every cached block of a file (a table that was deleted).</summary>
    public void EvictFile(ulong fileNumber)
    {
        foreach (var shard in _shards)
        {
            lock (shard.Lock)
            {
                // The walk only reads; each removal is its own short write, so lock-free readers of the shard are
                // held up by removals, not by the walk over every entry.
                var node = shard.Head;
                while (node is not null)
                {
                    var next = node.Next;
                    if (node.FileNumber == fileNumber)
                    {
                        shard.BeginWrite();
                        try
                        {
                            shard.Unlink(node);
                            shard.Remove(Hash(node.FileNumber, node.BlockOffset), node.FileNumber, node.BlockOffset);
                            shard.Usage -= node.Charge;
                        }
                        finally
                        {
                            shard.EndWrite();
                        }
                    }
                    node = next;
                }
            }
        }
    }

    // splitmix64's finalizer: block offsets are multiples of ~4 KiB, so their low bits alone would skew both the
    // shards (chosen by the top bits) and the slots within a shard (the low bits).
    private static ulong Hash(ulong fileNumber, long blockOffset)
    {
        var z = (fileNumber * 0x9E3779B97F4A7C15UL) ^ (ulong)blockOffset;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private Shard ShardFor(ulong hash) => _shards.Length == 1 ? _shards[0] : _shards[(int)(hash >> _shardShift)];

    private sealed class Node(ulong fileNumber, long blockOffset, byte[] block, long charge)
    {
        public readonly ulong FileNumber = fileNumber;
        public readonly long BlockOffset = blockOffset;
        public readonly byte[] Block = block;
        public readonly long Charge = charge;
        public Node? Prev;
        public Node? Next;
        public bool Referenced;
    }

    /// <summary>One entry of a shard's index: the key, and the block inline so a hit needs no further load to
    /// find it. Empty when <see cref="Block"/> is null.</summary>
    private struct Slot
    {
        public ulong FileNumber;
        public long BlockOffset;
        public byte[]? Block;
        public Node? Node;
    }

    // Written under Lock. Slots is also read without it, validated by Version (TryGet); Usage is read without it
    // (Volatile) for statistics.
    private sealed class Shard(long capacity)
    {
        private const int MinSlots = 16;

        public readonly Lock Lock = new();
        public readonly long Capacity = capacity;
        public long Usage;
        public int Count;
        public int Version;                            // odd while a writer changes Slots (a seqlock)
        public Slot[] Slots = new Slot[MinSlots];      // power-of-two length, at most half full
        public Node? Head;  // newest
        public Node? Tail;  // oldest
        public Node? Hand;  // the next entry the clock examines (null: start again from Tail)

        /// <summary>Looks a key up without the lock: probes the table between two reads of <see cref="Version"/>,
        /// and probes again if a writer was at work (after a few tries, under the lock).</summary>
        public bool TryFind(ulong hash, ulong fileNumber, long blockOffset,
                            [NotNullWhen(true)] out byte[]? block, [NotNullWhen(true)] out Node? node)
        {
            for (var attempt = 0; attempt < 16; attempt++)
            {
                var version = Volatile.Read(ref Version);
                if ((version & 1) == 0)
                {
                    var found = Find(hash, fileNumber, blockOffset, out block, out node);
                    Volatile.ReadBarrier(); // the probe's loads complete before the version is read again
                    if (Volatile.Read(ref Version) == version) return found;
                }
                Thread.SpinWait(1 << Math.Min(attempt, 6));
            }
            lock (Lock) return Find(hash, fileNumber, blockOffset, out block, out node); // a writer kept changing the shard
        }

        /// <summary>Probes for a key. Without the lock the result may be torn by a concurrent writer; the caller
        /// then sees <see cref="Version"/> changed and discards it. The probe is bounded either way.</summary>
        private bool Find(ulong hash, ulong fileNumber, long blockOffset,
                          [NotNullWhen(true)] out byte[]? block, [NotNullWhen(true)] out Node? node)
        {
            var slots = Volatile.Read(ref Slots);
            var mask = slots.Length - 1;
            var i = (int)hash & mask;
            for (var probes = 0; probes < slots.Length; probes++)
            {
                ref var slot = ref slots[i];
                var b = slot.Block;
                if (b is null) break;
                if (slot.FileNumber == fileNumber && slot.BlockOffset == blockOffset)
                {
                    node = slot.Node;
                    if (node is null) break; // torn: a writer is mid-change (the version check will tell)
                    block = b;
                    return true;
                }
                i = (i + 1) & mask;
            }
            block = null;
            node = null;
            return false;
        }

        public void BeginWrite() => Interlocked.Increment(ref Version); // a full fence: readers see it before any change

        public void EndWrite() => Volatile.Write(ref Version, Version + 1);

        /// <summary>Indexes a node whose key is not in the table. Caller holds the lock, inside BeginWrite.</summary>
        public void Add(ulong hash, Node node)
        {
            if ((Count + 1) * 2 > Slots.Length) Grow();
            Place(Slots, hash, node);
            Count++;
        }

        /// <summary>Removes a key from the index, returning its node (null if absent): linear probing's backward
        /// shift, which moves later entries of the probe run back so no tombstones accumulate. Caller holds the lock,
        /// inside BeginWrite.</summary>
        public Node? Remove(ulong hash, ulong fileNumber, long blockOffset)
        {
            var slots = Slots;
            var mask = slots.Length - 1;
            var i = (int)hash & mask;
            while (true)
            {
                if (slots[i].Block is null) return null;
                if (slots[i].FileNumber == fileNumber && slots[i].BlockOffset == blockOffset) break;
                i = (i + 1) & mask;
            }
            var removed = slots[i].Node;
            var hole = i;
            var j = i;
            while (true)
            {
                j = (j + 1) & mask;
                if (slots[j].Block is null) break;
                var home = (int)Hash(slots[j].FileNumber, slots[j].BlockOffset) & mask;
                // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
                var stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
                if (stays) continue;
                slots[hole] = slots[j];
                hole = j;
            }
            slots[hole] = default;
            Count--;
            if (Slots.Length > MinSlots && Count * 8 < Slots.Length) Resize(Slots.Length / 2);
            return removed;
        }

        private void Grow() => Resize(Slots.Length * 2);

        // Builds a new table and publishes it whole: readers still probing the old one see it unchanged.
        private void Resize(int length)
        {
            var next = new Slot[Math.Max(length, MinSlots)];
            foreach (ref var slot in Slots.AsSpan())
            {
                if (slot.Node is { } node) Place(next, Hash(node.FileNumber, node.BlockOffset), node);
            }
            Volatile.Write(ref Slots, next);
        }

        private static void Place(Slot[] slots, ulong hash, Node node)
        {
            var mask = slots.Length - 1;
            var i = (int)hash & mask;
            while (slots[i].Block is not null) i = (i + 1) & mask;
            ref var slot = ref slots[i];
            slot.Node = node;
            slot.FileNumber = node.FileNumber;
            slot.BlockOffset = node.BlockOffset;
            slot.Block = node.Block;
        }

        /// <summary>Puts a new entry where the clock hand examines it last: just behind the hand (or newest when the
        /// hand is about to start a round from the oldest). Anywhere ahead of the hand, streaming inserts would each
        /// evict the entry inserted just before them while old, never-read entries stayed.</summary>
        public void LinkBehindHand(Node node)
        {
            if (Hand is { } hand)
            {
                node.Prev = hand;
                node.Next = hand.Next;
                if (hand.Next is not null) hand.Next.Prev = node; else Tail = node;
                hand.Next = node;
                return;
            }
            node.Prev = null;
            node.Next = Head;
            if (Head is not null) Head.Prev = node;
            Head = node;
            Tail ??= node;
        }

        public void Unlink(Node node)
        {
            if (Hand == node) Hand = node.Prev;
            if (node.Prev is not null) node.Prev.Next = node.Next; else Head = node.Next;
            if (node.Next is not null) node.Next.Prev = node.Prev; else Tail = node.Prev;
            node.Prev = null;
            node.Next = null;
        }

        /// <summary>Advances the clock hand (oldest to newest, then around again) past referenced entries, clearing
        /// their flags, to the first unreferenced one; null only when the shard is empty. At most two rounds.</summary>
        public Node? NextVictim()
        {
            if (Tail is null) return null;
            while (true)
            {
                var node = Hand ?? Tail;
                if (!node.Referenced) return node;
                node.Referenced = false;
                Hand = node.Prev;
            }
        }
    }

    /// <summary>Hit and miss counts, one pair per processor on its own cache line: a shared counter's line would
    /// move between cores on every hit.</summary>
    private sealed class StripedCounters
    {
        public const int Hit = 0;
        public const int Miss = 1;
        private const int Stride = 16; // longs: 128 bytes, past the adjacent-line prefetcher too

        private readonly long[] _cells;
        private readonly int _mask;

        public StripedCounters()
        {
            var stripes = 1;
            while (stripes < Math.Min(Environment.ProcessorCount, 64)) stripes <<= 1;
            _mask = stripes - 1;
            _cells = new long[(stripes + 1) * Stride]; // the first line is padding: nothing else shares the others'
        }

        public void Increment(int which) =>
            Interlocked.Increment(ref _cells[((Thread.GetCurrentProcessorId() & _mask) + 1) * Stride + which]);

        public long Sum(int which)
        {
            long sum = 0;
            for (var i = 0; i <= _mask; i++) sum += Volatile.Read(ref _cells[(i + 1) * Stride + which]);
            return sum;
        }
    }
}
