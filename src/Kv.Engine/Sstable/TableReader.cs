using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using K4os.Compression.LZ4;
using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.IO;

namespace Kv.Engine.Sstable;

/// <summary>
/// Reads a table written by <see cref="TableBuilder"/> (layout there): point lookups, iterators, checksum scrubs.
/// </summary>
/// <remarks>
/// Threading: after <see cref="Open"/> returns, every field is immutable, so any number of threads may call
/// <see cref="MayContain"/>, <see cref="TryGetNewest"/>, <see cref="NewIterator()"/> and <see cref="VerifyChecksums"/>
/// at once (each iterator itself belongs to one thread). Blocks are read with positional reads, verified against
/// their CRC before a single byte is interpreted, and then shared through the <see cref="BlockCache"/> (if any).
/// The filter and the index are decoded once at open and pinned in memory for the reader's lifetime.
/// The reader owns the file and closes it on <see cref="Dispose"/>; the caller guarantees no read is in flight then
/// (the table cache reference-counts readers).
/// </remarks>
public sealed class TableReader : IDisposable
{
    /// <summary>Largest uncompressed block accepted from a file (a forged length must not allocate gigabytes).</summary>
    private const int MaxBlockSize = 1 << 30;

    /// <summary>Thread-local scratch buffers above this size go back to the pool after a lookup.</summary>
    private const int MaxRetainedScratch = 256 * 1024;

    [ThreadStatic] private static LookupState? t_lookup;

    private readonly IRandomAccessFile _file;
    private readonly BlockCache? _cache;
    private readonly byte[] _filter;
    private readonly byte[] _indexKeys;       // every index key, concatenated
    private readonly int[] _indexKeyOffsets;  // key i = _indexKeys[_indexKeyOffsets[i].._indexKeyOffsets[i+1]]
    private readonly int[] _blockSizes;
    private readonly IndexEntry[] _index;     // per data block: its index key's prefix and the block's offset

    private TableReader(IRandomAccessFile file, ulong fileNumber, BlockCache? cache, TableProperties properties, byte[] filter,
        byte[] indexKeys, int[] indexKeyOffsets, long[] blockOffsets, int[] blockSizes)
    {
        _file = file;
        FileNumber = fileNumber;
        _cache = cache;
        Properties = properties;
        _filter = filter;
        _indexKeys = indexKeys;
        _indexKeyOffsets = indexKeyOffsets;
        _blockSizes = blockSizes;
        _index = new IndexEntry[blockOffsets.Length];
        for (var i = 0; i < _index.Length; i++) _index[i] = new IndexEntry(UserKeyPrefix(IndexKey(i)), blockOffsets[i]);
    }

    /// <summary>What a point read needs per data block, side by side: the binary search compares <see cref="Prefix"/>
    /// (the first 8 bytes of the block's index key's user key, big-endian, zero-padded), and the entry it ends on
    /// then gives the block's offset, the block cache's key, from the cache line it just read. In separate arrays
    /// the offset was one more dependent cache miss before the cache lookup.</summary>
    private readonly struct IndexEntry(ulong prefix, long offset)
    {
        public readonly ulong Prefix = prefix;
        public readonly long Offset = offset;
    }

    public TableProperties Properties { get; }
    public ulong FileNumber { get; }
    public string Path => _file.Path;
    public long FileSize => _file.Length;
    internal int BlockCount => _index.Length;

    /// <summary>Opens a table: verifies the footer (magic, version, checksum) and the filter, properties and index
    /// blocks. Throws <see cref="CorruptionException"/> naming the file and offset if any of them is damaged.
    /// On success the reader owns <paramref name="file"/>; on failure the caller still does.</summary>
    public static TableReader Open(IRandomAccessFile file, ulong fileNumber, BlockCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        var path = file.Path;
        var length = file.Length;
        if (length < Footer.Length)
            throw new CorruptionException(path, 0, $"file is {length} bytes, shorter than a table footer ({Footer.Length} bytes): truncated or not a table");
        var footerOffset = length - Footer.Length;
        Span<byte> footerBytes = stackalloc byte[Footer.Length];
        var read = file.Read(footerOffset, footerBytes);
        var footer = Footer.Decode(footerBytes[..read], path, footerOffset);

        var filter = ReadMetaBlock(file, footer.Filter, footerOffset, "filter");
        var propertiesBytes = ReadMetaBlock(file, footer.Properties, footerOffset, "properties");
        var properties = TableProperties.TryDecode(propertiesBytes)
            ?? throw new CorruptionException(path, footer.Properties.Offset, "malformed properties block");
        var index = ReadMetaBlock(file, footer.Index, footerOffset, "index");

        // Decode the index into flat arrays: a lookup is then a binary search with no key reconstruction.
        var count = 0;
        var keyBytes = 0;
        var it = new BlockIterator(index, index.Length, path, footer.Index.Offset);
        for (it.SeekToFirst(); it.Valid; it.Next()) { count++; keyBytes += it.Key.Length; }
        var indexKeys = new byte[keyBytes];
        var keyOffsets = new int[count + 1];
        var blockOffsets = new long[count];
        var blockSizes = new int[count];
        var i = 0;
        var pos = 0;
        for (it.SeekToFirst(); it.Valid; it.Next(), i++)
        {
            keyOffsets[i] = pos;
            it.Key.CopyTo(indexKeys.AsSpan(pos));
            pos += it.Key.Length;
            var n = BlockHandle.TryDecode(it.Value, out var handle);
            if (n == 0 || n != it.Value.Length || handle.Offset < 0 || handle.Offset + handle.Size + BlockTrailer.Size > footer.Filter.Offset)
                throw new CorruptionException(path, footer.Index.Offset, $"index entry {i} holds a bad data block handle");
            blockOffsets[i] = handle.Offset;
            blockSizes[i] = handle.Size;
        }
        keyOffsets[count] = pos;
        return new TableReader(file, fileNumber, cache, properties, filter, indexKeys, keyOffsets, blockOffsets, blockSizes);
    }

    /// <summary>Opens the table at <paramref name="path"/> through <paramref name="fileSystem"/> (see
    /// <see cref="Open(IRandomAccessFile, ulong, BlockCache?)"/>); the file is closed again if the table is corrupt.</summary>
    public static TableReader Open(IFileSystem fileSystem, string path, ulong fileNumber, BlockCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        var file = fileSystem.OpenRandomAccess(path);
        try
        {
            return Open(file, fileNumber, cache);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Bytes this reader pins in memory for its lifetime (decoded index and Bloom filter).</summary>
    public long MemoryUsage => _filter.Length + _indexKeys.Length + (_indexKeyOffsets.Length * 4L) + (_index.Length * 20L);

    /// <summary>False only if the table certainly holds no version of <paramref name="userKey"/> (Bloom filter).</summary>
    public bool MayContain(ReadOnlySpan<byte> userKey) => BloomFilter.MayContain(_filter, userKey);

    /// <summary>
    /// Finds the newest version of <paramref name="userKey"/> in this table: the first entry at or after the key's
    /// seek key (<see cref="InternalKey.WriteSeekKey"/>) that has the same user key. On success returns true, sets
    /// <paramref name="timestamp"/> and <paramref name="kind"/> (a tombstone is a found version too) and appends the
    /// encoded entry value (<see cref="EntryValue"/>; empty for a tombstone) to <paramref name="entryValue"/>.
    /// Consults the Bloom filter first. Allocates nothing when the block is cached (or with no cache, after the
    /// calling thread's first lookups warmed its scratch buffers). Thread-safe.
    /// </summary>
    public bool TryGetNewest(ReadOnlySpan<byte> userKey, out long timestamp, out EntryKind kind, IBufferWriter<byte> entryValue)
    {
        var counters = default(PointReadCounters);
        return TryGetNewest(userKey, out timestamp, out kind, entryValue, ref counters);
    }

    /// <summary><see cref="TryGetNewest(ReadOnlySpan{byte}, out long, out EntryKind, IBufferWriter{byte})"/>, adding
    /// what the lookup touched (filter probe, filter negative, data blocks loaded) to <paramref name="counters"/>.</summary>
    internal bool TryGetNewest(ReadOnlySpan<byte> userKey, out long timestamp, out EntryKind kind, IBufferWriter<byte> entryValue,
                               ref PointReadCounters counters)
    {
        ArgumentNullException.ThrowIfNull(entryValue);
        timestamp = 0;
        kind = default;
        counters.FilterChecks++;
        if (!MayContain(userKey))
        {
            counters.FilterNegatives++;
            return false;
        }

        var seekLength = InternalKey.EncodedLength(userKey.Length);
        byte[]? rented = null;
        var seekKey = seekLength <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(seekLength));
        seekKey = seekKey[..seekLength];
        InternalKey.WriteSeekKey(seekKey, userKey);
        try
        {
            var block = FindBlock(seekKey);
            if (block == BlockCount)
            {
                counters.FilterFalsePositives++;
                return false;
            }

            var state = t_lookup ??= new LookupState();
            counters.BlocksRead++;
            var data = LoadBlock(block, fillCache: true, ref state.Scratch, out var length);
            var iter = state.Iterator;
            iter.Reset(data, length, Path, _index[block].Offset);
            iter.Seek(seekKey);
            if (!iter.Valid && block + 1 < BlockCount)
            {
                // The seek key fell between the block's last key and its (shortened) separator: the first entry
                // at or after it opens the next block.
                block++;
                counters.BlocksRead++;
                data = LoadBlock(block, fillCache: true, ref state.Scratch, out length);
                iter.Reset(data, length, Path, _index[block].Offset);
                iter.SeekToFirst();
            }
            var found = iter.Valid && InternalKey.UserKey(iter.Key).SequenceEqual(userKey);
            if (!found) counters.FilterFalsePositives++;
            if (found)
            {
                timestamp = InternalKey.Timestamp(iter.Key);
                kind = InternalKey.Kind(iter.Key);
                var value = iter.Value;
                value.CopyTo(entryValue.GetSpan(value.Length));
                entryValue.Advance(value.Length);
            }
            iter.Reset(EmptyBlock, EmptyBlock.Length, "", 0); // drop the reference to the block
            if (state.Scratch is { Length: > MaxRetainedScratch } big)
            {
                state.Scratch = null;
                ArrayPool<byte>.Shared.Return(big);
            }
            return found;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A two-level iterator (index → data blocks) over every entry; blocks it reads go into the cache.</summary>
    public IInternalIterator NewIterator() => new TableIterator(this, fillCache: true);

    /// <summary>An iterator that leaves the block cache as it was when <paramref name="fillCache"/> is false
    /// (compaction and scrubs read each block once: caching them would only evict hot blocks).</summary>
    public IInternalIterator NewIterator(bool fillCache) => new TableIterator(this, fillCache);

    /// <summary>Reads every block of the table and verifies its checksum (scrub). Throws
    /// <see cref="CorruptionException"/> at the first damaged block.</summary>
    public void VerifyChecksums()
    {
        byte[]? scratch = null;
        try
        {
            for (var i = 0; i < BlockCount; i++) ReadBlockUncached(i, ref scratch, out _);
        }
        finally
        {
            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Re-reads the whole table from the file, bypassing the cache, and verifies every checksum: the footer, the
    /// filter, properties and index blocks, and every data block (which must also decompress to its recorded length).
    /// Unlike <see cref="VerifyChecksums"/> it goes on past damage and adds one <see cref="CorruptionException"/> per
    /// damaged part to <paramref name="errors"/>. Returns the number of blocks checked (footer included).
    /// Thread-safe; <paramref name="onBlock"/> (called with each block's size, e.g. for a rate limit) runs on the
    /// calling thread.
    /// </summary>
    public int Scrub(List<CorruptionException> errors, Action<int>? onBlock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var checkedBlocks = 0;
        var length = _file.Length;
        var footerOffset = length - Footer.Length;
        checkedBlocks++;
        Footer footer;
        try
        {
            if (length < Footer.Length)
                throw new CorruptionException(Path, 0, $"file is {length} bytes, shorter than a table footer ({Footer.Length} bytes)");
            Span<byte> footerBytes = stackalloc byte[Footer.Length];
            var n = _file.Read(footerOffset, footerBytes);
            footer = Footer.Decode(footerBytes[..n], Path, footerOffset);
        }
        catch (CorruptionException e)
        {
            errors.Add(e);
            footer = default; // the handles this reader decoded at open still locate the data blocks
        }
        onBlock?.Invoke(Footer.Length);

        if (footer != default)
        {
            foreach (var (handle, what) in (ReadOnlySpan<(BlockHandle, string)>)[(footer.Filter, "filter"), (footer.Properties, "properties"), (footer.Index, "index")])
            {
                checkedBlocks++;
                try
                {
                    ReadMetaBlock(_file, handle, footerOffset, what);
                }
                catch (CorruptionException e)
                {
                    errors.Add(e);
                }
                onBlock?.Invoke(handle.Size + BlockTrailer.Size);
            }
        }

        byte[]? scratch = null;
        try
        {
            for (var i = 0; i < BlockCount; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                checkedBlocks++;
                try
                {
                    ReadBlockUncached(i, ref scratch, out _);
                }
                catch (CorruptionException e)
                {
                    errors.Add(e);
                }
                onBlock?.Invoke(_blockSizes[i] + BlockTrailer.Size);
            }
        }
        finally
        {
            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        }
        return checkedBlocks;
    }

    public void Dispose() => _file.Dispose();

    internal long BlockOffset(int block) => _index[block].Offset;

    internal ReadOnlySpan<byte> IndexKey(int block) => _indexKeys.AsSpan(_indexKeyOffsets[block], _indexKeyOffsets[block + 1] - _indexKeyOffsets[block]);

    /// <summary>Index of the first data block whose separator is &gt;= <paramref name="internalKey"/>, or <see cref="BlockCount"/>.
    /// Every earlier block holds only smaller keys; this block may too, and then the answer opens the next block.</summary>
    internal int FindBlock(ReadOnlySpan<byte> internalKey)
    {
        // Compares the keys' first 8 bytes as one number first: they decide nearly every step (a node's keys start
        // with their token), and the prefixes lie in one array (beside the offsets) instead of one cache line per key compared.
        var prefix = UserKeyPrefix(internalKey);
        var index = _index;
        int lo = 0, hi = index.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            var p = index[mid].Prefix;
            var less = p != prefix ? p < prefix : InternalKey.Compare(IndexKey(mid), internalKey) < 0;
            if (less) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The first 8 bytes of an internal key's user key as a big-endian number, zeros past a shorter key.
    /// A smaller prefix means a smaller key (the first differing byte is smaller, or the key ends first); equal
    /// prefixes decide nothing.</summary>
    internal static ulong UserKeyPrefix(ReadOnlySpan<byte> internalKey)
    {
        var user = InternalKey.UserKey(internalKey);
        if (user.Length >= 8) return BinaryPrimitives.ReadUInt64BigEndian(user);
        Span<byte> padded = stackalloc byte[8];
        padded.Clear();
        user.CopyTo(padded);
        return BinaryPrimitives.ReadUInt64BigEndian(padded);
    }

    /// <summary>
    /// The verified, decompressed contents of data block <paramref name="block"/>: a shared immutable array from
    /// (or now in) the cache, or else <paramref name="scratch"/> (rented from <see cref="ArrayPool{T}.Shared"/>,
    /// grown as needed; the caller returns it) filled with the contents. <paramref name="length"/> is the contents length.
    /// </summary>
    internal byte[] LoadBlock(int block, bool fillCache, ref byte[]? scratch, out int length)
    {
        if (_cache is null) return ReadBlockUncached(block, ref scratch, out length);
        var offset = _index[block].Offset;
        if (_cache.TryGet(FileNumber, offset, out var cached))
        {
            length = cached.Length;
            return cached;
        }
        if (!fillCache) return ReadBlockUncached(block, ref scratch, out length);

        var raw = ArrayPool<byte>.Shared.Rent(_blockSizes[block] + BlockTrailer.Size);
        try
        {
            var contents = ReadVerified(_file, new BlockHandle(offset, _blockSizes[block]), raw, out var compression);
            byte[] result;
            if (compression == BlockCompression.None)
            {
                result = BlockCache.CopyBlock(contents);
            }
            else
            {
                result = BlockCache.NewBlock(DecompressedLength(contents, offset, out var headerLength));
                Decompress(contents, headerLength, result, offset);
            }
            _cache.Insert(FileNumber, offset, result);
            length = result.Length;
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private byte[] ReadBlockUncached(int block, ref byte[]? scratch, out int length)
    {
        var handle = new BlockHandle(_index[block].Offset, _blockSizes[block]);
        var rawLength = handle.Size + BlockTrailer.Size;
        var buffer = Ensure(ref scratch, rawLength);
        var contents = ReadVerified(_file, handle, buffer, out var compression);
        if (compression == BlockCompression.None)
        {
            length = handle.Size; // contents start at scratch[0]
            return buffer;
        }

        var raw = ArrayPool<byte>.Shared.Rent(rawLength);
        try
        {
            contents.CopyTo(raw);
            var compressed = raw.AsSpan(0, contents.Length);
            length = DecompressedLength(compressed, handle.Offset, out var headerLength);
            var target = Ensure(ref scratch, length);
            Decompress(compressed, headerLength, target.AsSpan(0, length), handle.Offset);
            return target;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private static byte[] Ensure(ref byte[]? scratch, int length)
    {
        if (scratch is not null && scratch.Length >= length) return scratch;
        if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        scratch = ArrayPool<byte>.Shared.Rent(length);
        return scratch;
    }

    /// <summary>Reads the block and its trailer into <paramref name="buffer"/>, verifies the checksum and returns the contents.</summary>
    private static Span<byte> ReadVerified(IRandomAccessFile file, BlockHandle handle, byte[] buffer, out BlockCompression compression)
    {
        var total = handle.Size + BlockTrailer.Size;
        var block = buffer.AsSpan(0, total);
        var n = file.Read(handle.Offset, block);
        if (n != total)
            throw new CorruptionException(file.Path, handle.Offset, $"block of {total} bytes cut short at {n} bytes (file truncated)");
        if (!BlockTrailer.Verify(block))
            throw new CorruptionException(file.Path, handle.Offset, "block checksum mismatch");
        compression = (BlockCompression)block[handle.Size];
        if (compression is not (BlockCompression.None or BlockCompression.Lz4))
            throw new CorruptionException(file.Path, handle.Offset, $"unknown block compression {(byte)compression}");
        return block[..handle.Size];
    }

    private int DecompressedLength(ReadOnlySpan<byte> contents, long offset, out int headerLength)
    {
        headerLength = Varint.TryRead(contents, out uint length);
        if (headerLength == 0 || length > MaxBlockSize) ThrowCorrupt(offset, "bad uncompressed length of an LZ4 block");
        return (int)length;
    }

    private void Decompress(ReadOnlySpan<byte> contents, int headerLength, Span<byte> target, long offset)
    {
        var n = LZ4Codec.Decode(contents[headerLength..], target);
        if (n != target.Length) ThrowCorrupt(offset, "LZ4 block does not decompress to its recorded length");
    }

    [DoesNotReturn]
    private void ThrowCorrupt(long offset, string what) => throw new CorruptionException(Path, offset, what);

    /// <summary>Reads a metadata block (filter, properties, index): verified, decompressed, exactly sized.</summary>
    private static byte[] ReadMetaBlock(IRandomAccessFile file, BlockHandle handle, long footerOffset, string what)
    {
        if (handle.Offset < 0 || handle.Offset + handle.Size + BlockTrailer.Size > footerOffset)
            throw new CorruptionException(file.Path, footerOffset, $"{what} block handle points outside the file");
        var raw = ArrayPool<byte>.Shared.Rent(handle.Size + BlockTrailer.Size);
        try
        {
            var contents = ReadVerified(file, handle, raw, out var compression);
            if (compression != BlockCompression.None)
                throw new CorruptionException(file.Path, handle.Offset, $"{what} block is compressed; this format stores it uncompressed");
            return contents.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private static readonly byte[] EmptyBlock = [0, 0, 0, 0, 1, 0, 0, 0];

    private sealed class LookupState
    {
        public readonly BlockIterator Iterator = new();
        public byte[]? Scratch;
    }
}
