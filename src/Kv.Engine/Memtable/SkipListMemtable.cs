using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Kv.Engine.Format;

namespace Kv.Engine.Memtable;

/// <summary>
/// The in-memory write buffer: a skiplist of internal entries ordered by <see cref="InternalKey.Compare"/>,
/// with nodes, keys and values packed into an <see cref="Arena"/> (no GC object per entry), cut into
/// partitions by the top bits of the key prefix.
/// <code>
/// // node (8-aligned, in the arena) := height: i32 | key_len: i32 | value_len: i32 | reserved: i32
/// //                                   | sequence: i64 | prefix: u64 | next: i64 * height | internal key | entry value
/// // prefix    := the user key's first 8 bytes (zero-padded when shorter) as a big-endian number
/// // partition := prefix &gt;&gt; (64 - log2(P))        (0 when P = 1)
/// // heads     := (next: i64 * H) * P                 levels 0..H-1 of partition p's head tower at [p * H]
/// // tall      := (pointer: i64) * P                  to its levels H.. (next: i64 * (MaxHeight - H), in the arena; 0 until a node that tall is its first)
/// // H         := MaxHeight when P = 1, else 4
/// // non_empty := u64 * ceil(P / 64)                  bit p set once partition p's head links a node
/// </code>
/// The prefix lets a search decide most comparisons from the node header alone: when two prefixes differ,
/// their order is the order of the user keys (zero padding keeps a shorter key before its extensions), so
/// the key bytes, usually on another cache line, are read only on a prefix tie.
/// Partitions: the prefix order is the key order, so the partition (its top bits) is too; partition p
/// holds exactly the keys whose prefix starts with p, and every key of p comes before every key of p + 1.
/// Each partition is an independent skiplist with its own head tower, a search starts at its key's
/// partition, and a full scan walks the partitions one after the other (no merge), stepping over empty
/// ones with the <c>non_empty</c> bitmap. Stored keys begin with a random 8-byte token (ARCHITECTURE.md), so
/// the entries spread evenly: at 300k entries and P = 65536 an insert searches a list of ~5 instead of
/// 300k, two or three cache misses instead of ~36. P is one partition per KiB of the size limit (a power of two,
/// 1 to 65536). A list of a few entries needs few levels, so only the first H = 4 levels of each head tower are
/// allocated up front (32 bytes a partition); a partition gets the rest of its tower when a node taller than that
/// becomes its first at those levels, which with p = 1/4 is one insert in 256 (taken from the arena; a bitmap says
/// which partitions have one). So 64 MiB costs 2 MiB of dense heads plus 0.5 MiB of pointers to tall parts (3.9 %
/// of the limit).
/// Keys that are not random (decimal strings in benchmarks) fall into one or a few partitions, which then behave
/// like the single list of P = 1: their head towers grow their tall parts, and searches start at the top.
/// Measured with <c>MemtableBenchmarks</c> (token keys, 300k inserts, <c>--job short</c>): 1.00-1.10 µs per insert
/// with 16384 partitions of full 12-level heads (the previous layout); with 65536, 0.70 µs with full heads and
/// 0.56-0.69 µs with these.
/// Every entry carries the in-memory sequence number of the batch that wrote it, so a scan can ignore
/// entries inserted after it began. Identical internal keys may occur more than once (the same write
/// replayed, or two writers racing with equal timestamps); a new one is linked after the existing
/// equals, and readers resolve ties with <see cref="InternalKey.Supersedes"/>.
/// </summary>
/// <remarks>
/// Threading: <see cref="Add"/> is single-writer (the caller serialises writers; the Database holds
/// its insert lock). Readers (<see cref="TryGetNewest"/>, iterators) never block and take no locks:
/// a node is fully written before it is linked with a volatile (release) store, and links (head links
/// included) are read with volatile (acquire) loads, so a reader sees either the old or the new list,
/// never a torn node. A partition's bit in <c>non_empty</c> is set (release) only after its head links
/// its first node, and readers load the bitmap with acquire, so a reader that sees the bit sees that
/// link; a reader that misses a bit being set misses only an insert that had not returned yet.
/// Lifetime: reads hand out spans into the arena, so its memory may be reused only when nothing can read it. The
/// creator holds one reference and every read view showing the memtable one more (<see cref="AddReference"/>,
/// <see cref="Release"/>); reads and scans run inside an acquired view. The last release returns the memory to
/// the <see cref="MemtableMemoryPool"/> for the next memtable; without a pool the GC reclaims it as before.
/// </remarks>
internal sealed class SkipListMemtable
{
    public const int MaxHeight = 12;
    /// <summary>The most partitions: a 64 MiB memtable has 1 KiB (~5 entries of 100 bytes) a partition.</summary>
    public const int MaxPartitions = 1 << MaxPartitionBits;
    private const int MaxPartitionBits = 16;
    private const int BytesPerPartition = 1024;
    private const int PartitionedHeadLevels = 4; // H when P > 1
    private const int BranchingBits = 2; // p = 1/4, as in LevelDB

    private const int HeightOffset = 0;
    private const int KeyLengthOffset = 4;
    private const int ValueLengthOffset = 8;
    private const int SequenceOffset = 16;
    private const int PrefixOffset = 24;
    private const int NextOffset = 32;

    private readonly Arena _arena;
    private readonly MemtableHashIndex _index;
    private readonly long[] _heads;         // levels 0..._headLevels-1 of every head tower
    private readonly long[] _tallHeads;     // per partition, the arena pointer to levels _headLevels... of its head tower, or 0 (empty when P = 1)
    private readonly ulong[] _hasTall;      // bit p set once partition p has its tall part (8 KiB at most: stays cached)
    private readonly int _headLevels;
    private readonly ulong[] _nonEmpty;
    private readonly int _partitionShift; // partition = (prefix >> 52) >> _partitionShift
    private int _height = 1;
    private ulong _random;
    private long _entryCount;
    private long _expiringCount;
    private double _expirySum;
    private long _dataBytes;
    private int _references = 1;

    /// <param name="chunkSize">Arena chunk size.</param>
    /// <param name="seed">Seed of the node heights.</param>
    /// <param name="expectedBytes">The memtable's size limit, which sizes the point-lookup index and the
    /// partition count; 0: eight chunks.</param>
    /// <param name="partitions">Partition count, a power of two up to <see cref="MaxPartitions"/>; 0: one per
    /// KiB of <paramref name="expectedBytes"/>.</param>
    /// <param name="hugePages">Back the arena and the hash index with transparent huge pages where the OS allows
    /// (<see cref="HugePages"/>).</param>
    /// <param name="pool">Where the arena's chunks and the index's slots come from when it has them, and where they
    /// go when the last reference is released (<see cref="Release"/>); null: the GC reclaims them.</param>
    public SkipListMemtable(int chunkSize = 4 * 1024 * 1024, ulong seed = 0x9E3779B97F4A7C15UL, long expectedBytes = 0, int partitions = 0, bool hugePages = false,
                            MemtableMemoryPool? pool = null)
    {
        var limit = expectedBytes > 0 ? expectedBytes : 8L * chunkSize;
        if (partitions == 0) partitions = 1 << BitOperations.Log2((ulong)Math.Clamp(limit / BytesPerPartition, 1, MaxPartitions));
        if (partitions is < 1 or > MaxPartitions || !BitOperations.IsPow2(partitions))
            throw new ArgumentOutOfRangeException(nameof(partitions), partitions, $"the partition count must be a power of two from 1 to {MaxPartitions}");
        _arena = new Arena(chunkSize, hugePages, pool);
        _index = new MemtableHashIndex(limit, hugePages, pool);
        _headLevels = partitions == 1 ? MaxHeight : PartitionedHeadLevels;
        _heads = new long[partitions * _headLevels];
        _tallHeads = new long[partitions == 1 ? 0 : partitions];
        _hasTall = new ulong[partitions == 1 ? 0 : (partitions + 63) / 64];
        _nonEmpty = new ulong[(partitions + 63) / 64];
        _partitionShift = MaxPartitionBits - BitOperations.Log2((uint)partitions);
        _random = seed == 0 ? 1 : seed;
    }

    /// <summary>Takes one more reference (a read view that shows this memtable). Only a holder of a reference may
    /// take another; taking one on a released memtable is a bug and throws.</summary>
    public void AddReference()
    {
        var current = Volatile.Read(ref _references);
        while (true)
        {
            // Never from zero: the memory may already belong to another memtable.
            if (current <= 0) throw new InvalidOperationException("a memtable was referenced after its last reference was released");
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current) return;
            current = seen;
        }
    }

    /// <summary>Drops one reference; the last gives the arena's chunks and the index's slots to the pool (when there
    /// is one), after which nothing may read or write this memtable. The creator holds the first reference.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left > 0) return;
        if (left < 0) throw new InvalidOperationException("a memtable's reference was released twice");
        _index.ReturnSlots();
        _arena.ReturnChunks();
    }

    /// <summary>Skiplist partitions (P in the layout).</summary>
    internal int PartitionCount => _heads.Length / _headLevels;

    /// <summary>Arena bytes taken by entries: the figure compared with the memtable size limit (the arena's
    /// reservation exceeds it by less than one chunk).</summary>
    public long ApproximateMemoryUsage => _arena.UsedBytes;

    /// <summary>Bytes reserved from the GC (the arena's chunks, which also hold the tall parts of head towers, the
    /// point-lookup index, the partitions' heads and bitmaps).</summary>
    public long ReservedBytes => _arena.AllocatedBytes + _index.MemoryBytes + (8L * _heads.Length) + (8L * _tallHeads.Length) + (8L * _hasTall.Length) + (8L * _nonEmpty.Length);

    /// <summary>False once the point-lookup index filled up and gets fall back to the skiplist (exposed for tests).</summary>
    internal bool IsIndexed => !_index.IsOverflowed;

    /// <summary>Bytes of internal keys and entry values held (the payload that a flush writes).</summary>
    public long DataBytes => Volatile.Read(ref _dataBytes);

    public long EntryCount => Volatile.Read(ref _entryCount);

    /// <summary>User keys with at least one version here (the point-lookup index's count, tombstoned keys included), or
    /// <see cref="EntryCount"/> once the index has overflowed and stopped counting: a key overwritten a thousand times
    /// counts once.</summary>
    public long DistinctKeyCount => _index.IsOverflowed ? EntryCount : _index.Count;

    /// <summary>Values added with an expiry (for statistics; read without the writer, so the pair may be one entry apart).</summary>
    public long ExpiringCount => Volatile.Read(ref _expiringCount);

    /// <summary>The sum of those values' expiries (unix ms).</summary>
    public double ExpirySum => Volatile.Read(ref _expirySum);

    /// <summary>What an entry takes in the arena on average: its node header, key and entry value aligned to 8, plus its
    /// links, 4/3 of them on average at p = 1/4 (10.7 bytes, counted as 11).</summary>
    internal static int EntryBytes(int userKeyLength, int entryValueLength) =>
        ((NextOffset + InternalKey.EncodedLength(userKeyLength) + entryValueLength + 7) & ~7) + 11;

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
        var prefix = PrefixOf(userKey);
        Unsafe.As<byte, ulong>(ref chunk[at + PrefixOffset]) = prefix;
        var keyStart = at + NextOffset + (8 * height);
        var key = chunk.AsSpan(keyStart, keyLength);
        InternalKey.Write(key, userKey, timestamp, kind);
        entryValue.CopyTo(chunk.AsSpan(keyStart + keyLength, entryValue.Length));

        var partition = PartitionOf(prefix);
        Span<long> prev = stackalloc long[MaxHeight];
        FindLastLessOrEqual(key, prefix, partition, prev);

        if (height > _height)
        {
            for (var level = _height; level < height; level++) prev[level] = 0;
            // Readers that see the new height before the new links just find null at the top levels.
            Volatile.Write(ref _height, height);
        }
        for (var level = 0; level < height; level++)
        {
            // The new node's own links are written before it becomes reachable at this level.
            SetNextRelaxed(chunk, at, level, GetNext(prev[level], partition, level));
            SetNext(prev[level], partition, level, node);
        }
        if (prev[0] == 0)
        {
            // First in its partition: publish the partition to scans after its head link (see the threading rules).
            ref var word = ref _nonEmpty[partition >> 6];
            var bit = 1UL << (partition & 63);
            if ((word & bit) == 0) Volatile.Write(ref word, word | bit);
        }
        // The node is its key's first (winning) version when what precedes it belongs to another key (or it
        // is first in its partition: equal user keys share a partition, so the head precedes no version of it).
        if (!_index.IsOverflowed && (prev[0] == 0 || !InternalKey.UserKey(NodeKey(prev[0])).SequenceEqual(userKey)))
            _index.Upsert(MemtableHashIndex.Hash(userKey), userKey, node, new NodeKeys(this));
        Volatile.Write(ref _entryCount, _entryCount + 1);
        Volatile.Write(ref _dataBytes, _dataBytes + keyLength + entryValue.Length);
        if (kind == EntryKind.Value && EntryValue.TryRead(entryValue, out var expiresAt, out _) && expiresAt != 0)
        {
            Volatile.Write(ref _expirySum, _expirySum + expiresAt);
            Volatile.Write(ref _expiringCount, _expiringCount + 1);
        }
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
        // Identical internal keys follow each other (in one partition): the greatest value wins the tie.
        for (var next = GetNext(node, 0, 0); next != 0; next = GetNext(next, 0, 0))
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

    /// <summary>The first node of the first non-empty partition, or 0.</summary>
    internal long First() => FirstFrom(0);

    /// <summary>The node after <paramref name="node"/>: its successor in its partition, else the first node of the next non-empty partition.</summary>
    internal long Next(long node)
    {
        var chunk = _arena.Chunk(node);
        var at = Arena.Offset(node);
        var next = Volatile.Read(ref Unsafe.As<byte, long>(ref chunk[at + NextOffset]));
        if (next != 0 || _tallHeads.Length == 0) return next;
        return FirstFrom(PartitionOf(Unsafe.As<byte, ulong>(ref chunk[at + PrefixOffset])) + 1);
    }

    /// <summary>
    /// Asks the CPU to start loading the node linked after <paramref name="node"/> (its header, key and the start of
    /// its value) while the caller still works on <paramref name="node"/>: an ordered walk otherwise takes a cache miss
    /// at every node, because consecutive keys sit at unrelated places in the arena. A hint only: a prefetch never
    /// faults and changes nothing if the line is never read (x86 only; elsewhere it does nothing).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal unsafe void PrefetchSuccessor(long node)
    {
        if (!Sse.IsSupported || node == 0) return;
        var chunk = _arena.Chunk(node);
        var next = Volatile.Read(ref Unsafe.As<byte, long>(ref chunk[Arena.Offset(node) + NextOffset]));
        if (next == 0) return; // the end of a partition: the next node comes from the head array, read in order
        // The address of a byte of an arena chunk, used only as a hint: if the array were moved meanwhile (arena
        // chunks are pinned only with huge pages), the prefetch would warm a stale line and nothing else.
        ref var at = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_arena.Chunk(next)), Arena.Offset(next));
        var address = (byte*)Unsafe.AsPointer(ref at);
        Sse.Prefetch0(address);
        Sse.Prefetch0(address + 64);
        Sse.Prefetch0(address + 128);
    }

    /// <summary>The first node of the first non-empty partition at or after <paramref name="partition"/>, or 0.</summary>
    private long FirstFrom(int partition)
    {
        var words = _nonEmpty;
        var w = partition >> 6;
        if (w >= words.Length) return 0;
        var bits = Volatile.Read(ref words[w]) & (ulong.MaxValue << (partition & 63));
        while (bits == 0)
        {
            if (++w == words.Length) return 0;
            bits = Volatile.Read(ref words[w]);
        }
        var first = (w << 6) + BitOperations.TrailingZeroCount(bits);
        return Volatile.Read(ref _heads[first * _headLevels]);
    }

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
        var partition = PartitionOf(prefix);
        long x = 0;
        long knownNotLess = 0; // a node already found >= key: met again one level down, it needs no second compare
        var level = TopLevel(partition, Volatile.Read(ref _height));
        while (true)
        {
            var next = GetNext(x, partition, level);
            if (next != 0 && next != knownNotLess && CompareNode(next, key, prefix) < 0)
            {
                x = next;
            }
            else if (level > 0)
            {
                knownNotLess = next;
                level--;
            }
            else
            {
                // Past the end of the key's partition: every key of the later partitions is greater.
                return next != 0 || _tallHeads.Length == 0 ? next : FirstFrom(partition + 1);
            }
        }
    }

    /// <summary>Fills <paramref name="prev"/> with, per level, the last node of <paramref name="partition"/> with a
    /// key &lt;= key (0 = the head), up to the list's height.</summary>
    private void FindLastLessOrEqual(ReadOnlySpan<byte> key, ulong prefix, int partition, Span<long> prev)
    {
        long x = 0;
        long knownGreater = 0;
        var level = TopLevel(partition, _height);
        for (var above = level + 1; above < _height; above++) prev[above] = 0; // levels the partition's head links nothing at
        while (true)
        {
            var next = GetNext(x, partition, level);
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

    /// <summary>The partition of a key with this prefix: the prefix's top log2(P) bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PartitionOf(ulong prefix) => (int)((prefix >> (64 - MaxPartitionBits)) >> _partitionShift);

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

    /// <summary>The level a search of <paramref name="partition"/> starts at: the list's top, or the top of the
    /// partition's dense head levels while its head tower has no tall part (nothing is linked above them). Asks the
    /// small <c>_hasTall</c> bitmap, not <c>_tallHeads</c>, whose entry would be one more cache miss per insert.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TopLevel(int partition, int height)
    {
        if (height <= _headLevels || (Volatile.Read(ref _hasTall[partition >> 6]) & (1UL << (partition & 63))) != 0) return height - 1;
        return _headLevels - 1;
    }

    /// <summary>The link at <paramref name="level"/> of <paramref name="node"/>, or of <paramref name="partition"/>'s
    /// head tower when node is 0 (<paramref name="partition"/> is not used otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long GetNext(long node, int partition, int level)
    {
        if (node == 0)
        {
            if (level < _headLevels) return Volatile.Read(ref _heads[(partition * _headLevels) + level]);
            var tall = Volatile.Read(ref _tallHeads[partition]);
            if (tall == 0) return 0;
            return Volatile.Read(ref Unsafe.As<byte, long>(ref _arena.Chunk(tall)[Arena.Offset(tall) + (8 * (level - _headLevels))]));
        }
        var chunk = _arena.Chunk(node);
        return Volatile.Read(ref Unsafe.As<byte, long>(ref chunk[Arena.Offset(node) + NextOffset + (8 * level)]));
    }

    private void SetNext(long node, int partition, int level, long target)
    {
        if (node == 0)
        {
            if (level < _headLevels)
            {
                Volatile.Write(ref _heads[(partition * _headLevels) + level], target);
                return;
            }
            var tall = _tallHeads[partition];
            if (tall == 0)
            {
                // From the arena, so a tall part is no allocation of its own (the per-write allocation tests hold).
                // Cleared (chunks are not) and published before the link below, so a reader that sees the tower's
                // new top finds null there at worst.
                tall = _arena.Allocate(8 * (MaxHeight - _headLevels));
                _arena.Chunk(tall).AsSpan(Arena.Offset(tall), 8 * (MaxHeight - _headLevels)).Clear();
                Volatile.Write(ref _tallHeads[partition], tall);
                // After the reference: a reader that sees the bit finds the part.
                ref var word = ref _hasTall[partition >> 6];
                Volatile.Write(ref word, word | (1UL << (partition & 63)));
            }
            Volatile.Write(ref Unsafe.As<byte, long>(ref _arena.Chunk(tall)[Arena.Offset(tall) + (8 * (level - _headLevels))]), target);
            return;
        }
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
