using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Kv.Engine.Cache;

/// <summary>
/// A byte-bounded cache of decompressed, checksum-verified table blocks, keyed by (file number, block offset),
/// shared by every table reader of a store.
/// </summary>
/// <remarks>
/// Threading: all members are thread-safe. The cache is split into shards, each guarded by its own lock, so
/// readers of different blocks rarely contend; a lookup holds its shard's lock only to find the entry and mark it.
/// Replacement is CLOCK (second chance), not strict LRU: a hit only sets the entry's referenced flag, where moving
/// it to the front of a list would write two neighbours and the head as well, each likely a CPU cache miss
/// (measured with <c>BlockCacheBenchmarks</c>: docs/engine.md). Entries sit in a ring; to make room, the hand walks
/// it, clearing referenced flags and evicting the first entry found unmarked, so an entry read since the hand last
/// passed survives one more round. New entries go just behind the hand, so they get a whole round to be read. Cached arrays are immutable by contract: whoever inserts one never writes it again,
/// and readers only read it, so an array stays valid for a reader that holds it after it has been evicted
/// (eviction just drops the cache's reference). File numbers are never reused by the engine, so entries of a
/// deleted table can never be mistaken for another's; they simply age out (or go at once with <see cref="EvictFile"/>).
/// Each shard holds at most capacity / shard count bytes (block length plus a fixed per-entry overhead); a block
/// bigger than a shard is not cached.
/// </remarks>
public sealed class BlockCache
{
    /// <summary>Bytes charged per entry on top of the block itself (node, dictionary slot, array header).</summary>
    public const int EntryOverhead = 96;

    private readonly Shard[] _shards;
    private readonly int _shardShift;

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
            foreach (var s in _shards) { lock (s.Lock) sum += s.Map.Count; }
            return sum;
        }
    }

    public long Hits
    {
        get
        {
            long sum = 0;
            foreach (var s in _shards) sum += Volatile.Read(ref s.Hits);
            return sum;
        }
    }

    public long Misses
    {
        get
        {
            long sum = 0;
            foreach (var s in _shards) sum += Volatile.Read(ref s.Misses);
            return sum;
        }
    }

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
        // Without the shard lock: a hit is the hot path of every point read, and the lock's enter and exit (two
        // fenced operations, plus waiting for a writer) cost ~190-240 ns per hit against ~110 ns now
        // (BlockCacheBenchmarks). A node evicted meanwhile still holds its immutable block; marking it referenced
        // then changes nothing.
        var key = new BlockKey(fileNumber, blockOffset);
        var shard = ShardFor(key);
        if (shard.Map.TryGetValue(key, out var node))
        {
            if (!node.Referenced) node.Referenced = true;
            Interlocked.Increment(ref shard.Hits);
            block = node.Block;
            return true;
        }
        Interlocked.Increment(ref shard.Misses);
        block = null;
        return false;
    }

    /// <summary>Caches <paramref name="block"/> (which the caller must never modify again), evicting blocks of the
    /// shard not referenced since the clock hand last passed, as needed. A block already cached under the same key
    /// is replaced.</summary>
    public void Insert(ulong fileNumber, long blockOffset, byte[] block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var key = new BlockKey(fileNumber, blockOffset);
        var shard = ShardFor(key);
        var charge = (long)block.Length + EntryOverhead;
        if (charge > shard.Capacity) return;
        lock (shard.Lock)
        {
            if (shard.Map.TryGetValue(key, out var existing))
            {
                shard.Unlink(existing);
                shard.Map.TryRemove(key, out _);
                shard.Usage -= existing.Charge;
            }
            while (shard.Usage + charge > shard.Capacity && shard.NextVictim() is { } victim)
            {
                shard.Unlink(victim);
                shard.Map.TryRemove(victim.Key, out _);
                shard.Usage -= victim.Charge;
            }
            var node = new Node(key, block, charge);
            shard.Map[key] = node;
            shard.LinkBehindHand(node);
            shard.Usage += charge;
        }
    }

    /// <summary>Drops every cached block of a file (a table that was deleted).</summary>
    public void EvictFile(ulong fileNumber)
    {
        foreach (var shard in _shards)
        {
            lock (shard.Lock)
            {
                var node = shard.Head;
                while (node is not null)
                {
                    var next = node.Next;
                    if (node.Key.FileNumber == fileNumber)
                    {
                        shard.Unlink(node);
                        shard.Map.TryRemove(node.Key, out _);
                        shard.Usage -= node.Charge;
                    }
                    node = next;
                }
            }
        }
    }

    private Shard ShardFor(BlockKey key)
    {
        // splitmix64 finalizer: block offsets are multiples of ~4 KiB, so low bits alone would skew the shards
        var z = (key.FileNumber * 0x9E3779B97F4A7C15UL) ^ (ulong)key.BlockOffset;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return _shards.Length == 1 ? _shards[0] : _shards[(int)(z >> _shardShift)];
    }

    private readonly record struct BlockKey(ulong FileNumber, long BlockOffset);

    private sealed class Node(BlockKey key, byte[] block, long charge)
    {
        public readonly BlockKey Key = key;
        public readonly byte[] Block = block;
        public readonly long Charge = charge;
        public Node? Prev;
        public Node? Next;
        public bool Referenced;
    }

    // Written under Lock, except Hits/Misses (Interlocked). Map is also read without it (TryGet), and
    // Usage/Hits/Misses are read without it (Volatile) for statistics.
    private sealed class Shard(long capacity)
    {
        public readonly Lock Lock = new();
        public readonly ConcurrentDictionary<BlockKey, Node> Map = new(concurrencyLevel: 1, capacity: 31); // written under Lock, read without it
        public readonly long Capacity = capacity;
        public long Usage;
        public long Hits;
        public long Misses;
        public Node? Head;  // newest
        public Node? Tail;  // oldest
        public Node? Hand;  // the next entry the clock examines (null: start again from Tail)

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
}
