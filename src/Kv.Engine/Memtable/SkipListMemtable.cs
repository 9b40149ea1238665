using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Kv.Engine.Format;

namespace Kv.Engine.Memtable;

/// <summary>
/// The in-memory write buffer: a skiplist of internal entries ordered by <see cref="InternalKey.Compare"/>,
/// with nodes, keys and values packed into an <see cref="Arena"/> (no GC object per entry).
/// <code>
/// // node (8-aligned, in the arena) := height: i32 | key_len: i32 | value_len: i32 | reserved: i32
/// //                                   | sequence: i64 | prefix: u64 | next: i64 * height | internal key | entry value
/// // prefix := the user key's first 8 bytes (zero-padded when shorter) as a big-endian number
/// </code>
/// The prefix lets a search decide most comparisons from the node header alone: when two prefixes differ,
/// their order is the order of the user keys (zero padding keeps a shorter key before its extensions), so
/// the key bytes, usually on another cache line, are read only on a prefix tie. Stored keys begin with a
/// random 8-byte token (ARCHITECTURE.md), so ties are rare; a lookup in a 300k-entry memtable is a chain
/// of ~30 cache misses, and this halves the lines each step touches.
/// Every entry carries the in-memory sequence number of the batch that wrote it, so a scan can ignore
/// entries inserted after it began. Identical internal keys may occur more than once (the same write
/// replayed, or two writers racing with equal timestamps); a new one is linked after the existing
/// equals, and readers resolve ties with <see cref="InternalKey.Supersedes"/>.
/// </summary>
/// <remarks>
/// Threading: <see cref="Add"/> is single-writer (the caller serialises writers; the Database holds
/// its insert lock). Readers (<see cref="TryGetNewest"/>, iterators) never block and take no locks:
/// a node is fully written before it is linked with a volatile (release) store, and links are read
/// with volatile (acquire) loads, so a reader sees either the old or the new list, never a torn node.
/// </remarks>
internal sealed class SkipListMemtable
{
    public const int MaxHeight = 12;
    private const int BranchingBits = 2; // p = 1/4, as in LevelDB

    private const int HeightOffset = 0;
    private const int KeyLengthOffset = 4;
    private const int ValueLengthOffset = 8;
    private const int SequenceOffset = 16;
    private const int PrefixOffset = 24;
    private const int NextOffset = 32;

    private readonly Arena _arena;
    private readonly MemtableHashIndex _index;
    private readonly long[] _head = new long[MaxHeight];
    private int _height = 1;
    private ulong _random;
    private long _entryCount;
    private long _dataBytes;

    /// <param name="chunkSize">Arena chunk size.</param>
    /// <param name="seed">Seed of the node heights.</param>
    /// <param name="expectedBytes">The memtable's size limit, which sizes the point-lookup index; 0: eight chunks.</param>
    public SkipListMemtable(int chunkSize = 4 * 1024 * 1024, ulong seed = 0x9E3779B97F4A7C15UL, long expectedBytes = 0)
    {
        _arena = new Arena(chunkSize);
        _index = new MemtableHashIndex(expectedBytes > 0 ? expectedBytes : 8L * chunkSize);
        _random = seed == 0 ? 1 : seed;
    }

    /// <summary>Arena bytes taken by entries: the figure compared with the memtable size limit (the arena's
    /// reservation exceeds it by less than one chunk).</summary>
    public long ApproximateMemoryUsage => _arena.UsedBytes;

    /// <summary>Bytes reserved from the GC (the arena's chunks and the point-lookup index).</summary>
    public long ReservedBytes => _arena.AllocatedBytes + _index.MemoryBytes;

    /// <summary>False once the point-lookup index filled up and gets fall back to the skiplist (exposed for tests).</summary>
    internal bool IsIndexed => !_index.IsOverflowed;

    /// <summary>Bytes of internal keys and entry values held (the payload that a flush writes).</summary>
    public long DataBytes => Volatile.Read(ref _dataBytes);

    public long EntryCount => Volatile.Read(ref _entryCount);

    /// <summary>Inserts one entry. Single writer only (see the type's threading rules).</summary>
    public void Add(ReadOnlySpan<byte> userKey, long timestamp, EntryKind kind, ReadOnlySpan<byte> entryValue, long sequence)
    {
        var keyLength = InternalKey.EncodedLength(userKey.Length);
        var height = RandomHeight();
        var nodeSize = NextOffset + (8 * height) + keyLength + entryValue.Length;
        var node = _arena.Allocate(nodeSize);
        var chunk = _arena.Chunk(node);
        var at = Arena.Offset(node);
        WriteInt32(chunk, at + HeightOffset, height);
        WriteInt32(chunk, at + KeyLengthOffset, keyLength);
        WriteInt32(chunk, at + ValueLengthOffset, entryValue.Length);
        WriteInt32(chunk, at + 12, 0);
        Unsafe.As<byte, long>(ref chunk[at + SequenceOffset]) = sequence;
        Unsafe.As<byte, ulong>(ref chunk[at + PrefixOffset]) = PrefixOf(userKey);
        var keyStart = at + NextOffset + (8 * height);
        var key = chunk.AsSpan(keyStart, keyLength);
        InternalKey.Write(key, userKey, timestamp, kind);
        entryValue.CopyTo(chunk.AsSpan(keyStart + keyLength, entryValue.Length));

        Span<long> prev = stackalloc long[MaxHeight];
        FindLastLessOrEqual(key, PrefixOf(userKey), prev);

        if (height > _height)
        {
            for (var level = _height; level < height; level++) prev[level] = 0;
            // Readers that see the new height before the new links just find null at the top levels.
            Volatile.Write(ref _height, height);
        }
        for (var level = 0; level < height; level++)
        {
            // The new node's own links are written before it becomes reachable at this level.
            SetNextRelaxed(chunk, at, level, GetNext(prev[level], level));
            SetNext(prev[level], level, node);
        }
        // The node is its key's first (winning) version when what precedes it belongs to another key.
        if (!_index.IsOverflowed && (prev[0] == 0 || !InternalKey.UserKey(NodeKey(prev[0])).SequenceEqual(userKey)))
            _index.Upsert(MemtableHashIndex.Hash(userKey), userKey, node, new NodeKeys(this));
        Volatile.Write(ref _entryCount, _entryCount + 1);
        Volatile.Write(ref _dataBytes, _dataBytes + keyLength + entryValue.Length);
    }

    /// <summary>
    /// Finds the winning version of <paramref name="userKey"/>: the first entry in internal-key order
    /// (highest timestamp, tombstone first), with ties of identical internal keys broken by greater value.
    /// The returned span points into the arena and stays valid as long as this memtable is reachable.
    /// </summary>
    public bool TryGetNewest(ReadOnlySpan<byte> userKey, out long timestamp, out EntryKind kind, out ReadOnlySpan<byte> entryValue)
    {
        long node;
        if (!_index.IsOverflowed)
        {
            node = _index.Find(MemtableHashIndex.Hash(userKey), userKey, new NodeKeys(this));
        }
        else
        {
            var seekLength = InternalKey.EncodedLength(userKey.Length);
            byte[]? rented = null;
            Span<byte> seek = seekLength <= 256 ? stackalloc byte[256] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(seekLength));
            seek = seek[..seekLength];
            InternalKey.WriteSeekKey(seek, userKey);
            node = FindGreaterOrEqual(seek);
            if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            if (node != 0 && !InternalKey.UserKey(NodeKey(node)).SequenceEqual(userKey)) node = 0;
        }

        if (node == 0) { timestamp = 0; kind = default; entryValue = default; return false; }
        var key = NodeKey(node);
        timestamp = InternalKey.Timestamp(key);
        kind = InternalKey.Kind(key);
        entryValue = NodeValue(node);
        // Identical internal keys follow each other: the greatest value wins the tie.
        for (var next = GetNext(node, 0); next != 0; next = GetNext(next, 0))
        {
            var nextKey = NodeKey(next);
            if (!nextKey.SequenceEqual(key)) break;
            var nextValue = NodeValue(next);
            if (nextValue.SequenceCompareTo(entryValue) > 0) entryValue = nextValue;
        }
        return true;
    }

    /// <summary>An iterator over entries whose sequence is at most <paramref name="snapshotSequence"/>.</summary>
    public MemtableIterator NewIterator(long snapshotSequence = long.MaxValue) => new(this, snapshotSequence);

    // ---- node access (shared with the iterator) ----

    internal long First() => GetNext(0, 0);

    internal long Next(long node) => GetNext(node, 0);

    internal ReadOnlySpan<byte> NodeKey(long node)
    {
        var chunk = _arena.Chunk(node);
        var at = Arena.Offset(node);
        var height = ReadInt32(chunk, at + HeightOffset);
        var keyLength = ReadInt32(chunk, at + KeyLengthOffset);
        return new ReadOnlySpan<byte>(chunk, at + NextOffset + (8 * height), keyLength);
    }

    internal ReadOnlySpan<byte> NodeValue(long node)
    {
        var chunk = _arena.Chunk(node);
        var at = Arena.Offset(node);
        var height = ReadInt32(chunk, at + HeightOffset);
        var keyLength = ReadInt32(chunk, at + KeyLengthOffset);
        var valueLength = ReadInt32(chunk, at + ValueLengthOffset);
        return new ReadOnlySpan<byte>(chunk, at + NextOffset + (8 * height) + keyLength, valueLength);
    }

    internal long NodeSequence(long node)
    {
        var chunk = _arena.Chunk(node);
        return Unsafe.As<byte, long>(ref chunk[Arena.Offset(node) + SequenceOffset]);
    }

    /// <summary>The first node whose key is &gt;= <paramref name="key"/>, or 0.</summary>
    internal long FindGreaterOrEqual(ReadOnlySpan<byte> key)
    {
        var prefix = PrefixOf(InternalKey.UserKey(key));
        long x = 0;
        long knownNotLess = 0; // a node already found >= key: met again one level down, it needs no second compare
        var level = Volatile.Read(ref _height) - 1;
        while (true)
        {
            var next = GetNext(x, level);
            if (next != 0 && next != knownNotLess && CompareNode(next, key, prefix) < 0)
            {
                x = next;
            }
            else
            {
                if (level == 0) return next;
                knownNotLess = next;
                level--;
            }
        }
    }

    /// <summary>Fills <paramref name="prev"/> with, per level, the last node whose key is &lt;= key (0 = head).</summary>
    private void FindLastLessOrEqual(ReadOnlySpan<byte> key, ulong prefix, Span<long> prev)
    {
        long x = 0;
        long knownGreater = 0;
        var level = _height - 1;
        while (true)
        {
            var next = GetNext(x, level);
            if (next != 0 && next != knownGreater && CompareNode(next, key, prefix) <= 0)
            {
                x = next;
            }
            else
            {
                prev[level] = x;
                if (level == 0) return;
                knownGreater = next;
                level--;
            }
        }
    }

    /// <summary>Orders a node's internal key against <paramref name="key"/> (whose user-key prefix is <paramref name="prefix"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CompareNode(long node, ReadOnlySpan<byte> key, ulong prefix)
    {
        var nodePrefix = Unsafe.As<byte, ulong>(ref _arena.Chunk(node)[Arena.Offset(node) + PrefixOffset]);
        if (nodePrefix != prefix) return nodePrefix < prefix ? -1 : 1;
        return InternalKey.Compare(NodeKey(node), key);
    }

    /// <summary>The first 8 bytes of <paramref name="userKey"/>, zero-padded, as a big-endian number (see the node layout).</summary>
    internal static ulong PrefixOf(ReadOnlySpan<byte> userKey)
    {
        if (userKey.Length >= 8) return BinaryPrimitives.ReadUInt64BigEndian(userKey);
        Span<byte> padded = stackalloc byte[8];
        padded.Clear();
        userKey.CopyTo(padded);
        return BinaryPrimitives.ReadUInt64BigEndian(padded);
    }

    private int RandomHeight()
    {
        // xorshift64*: the writer is single-threaded, so this state needs no synchronisation.
        var x = _random;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _random = x;
        var bits = x * 0x2545F4914F6CDD1DUL;
        var height = 1;
        while (height < MaxHeight && (bits & ((1UL << BranchingBits) - 1)) == 0)
        {
            height++;
            bits >>= BranchingBits;
        }
        return height;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long GetNext(long node, int level)
    {
        if (node == 0) return Volatile.Read(ref _head[level]);
        var chunk = _arena.Chunk(node);
        return Volatile.Read(ref Unsafe.As<byte, long>(ref chunk[Arena.Offset(node) + NextOffset + (8 * level)]));
    }

    private void SetNext(long node, int level, long target)
    {
        if (node == 0) { Volatile.Write(ref _head[level], target); return; }
        var chunk = _arena.Chunk(node);
        Volatile.Write(ref Unsafe.As<byte, long>(ref chunk[Arena.Offset(node) + NextOffset + (8 * level)]), target);
    }

    private static void SetNextRelaxed(byte[] chunk, int at, int level, long target) =>
        Unsafe.As<byte, long>(ref chunk[at + NextOffset + (8 * level)]) = target;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ReadInt32(byte[] chunk, int at) => Unsafe.As<byte, int>(ref chunk[at]);

    private static void WriteInt32(byte[] chunk, int at, int value) => Unsafe.As<byte, int>(ref chunk[at]) = value;

    /// <summary>The index's view of nodes: their user keys.</summary>
    private readonly struct NodeKeys(SkipListMemtable memtable) : MemtableHashIndex.INodeKeys
    {
        public ReadOnlySpan<byte> UserKey(long node) => InternalKey.UserKey(memtable.NodeKey(node));
    }
}
