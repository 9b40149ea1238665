using K4os.Compression.LZ4;
using Kv.Engine.Format;
using Kv.Engine.IO;

namespace Kv.Engine.Sstable;

/// <summary>
/// Writes a sorted table (SSTable) into an append-only file.
/// <code>
/// // table := data_block* | filter_block | properties_block | index_block | footer
/// //   each block on disk: see BlockTrailer (contents | compression: u8 | crc32c: u32)
/// //   data block:       BlockBuilder contents; key = internal key, value = entry value
/// //   filter block:     BloomFilterBuilder contents over the distinct user keys (never compressed)
/// //   properties block: TableProperties contents (never compressed)
/// //   index block:      BlockBuilder contents, restart interval 1; one entry per data block:
/// //                     key = separator: &gt;= every key of the block, &lt; every key of the next block
/// //                     (a shortened user key with the smallest trailer, or the block's last key),
/// //                     value = block handle (never compressed)
/// //   footer:           Footer (fixed 76 bytes)
/// </code>
/// wire format: changing this breaks existing data.
/// </summary>
/// <remarks>Not thread-safe: one thread adds entries and finishes. The caller owns the file: it syncs and closes
/// it after <see cref="Finish"/>, and deletes it if the build is abandoned.</remarks>
public sealed class TableBuilder : IDisposable
{
    private readonly IWritableFile _file;
    private readonly TableOptions _options;
    private readonly BlockBuilder _data;
    private readonly BlockBuilder _index = new(1);
    private readonly BloomFilterBuilder _filter;
    private readonly long _startOffset;
    private long _offset;
    private byte[] _lastKey = new byte[64];
    private int _lastKeyLength = -1;
    private byte[] _smallestKey = [];
    private byte[] _compressed = [];
    private bool _pendingIndexEntry;              // a data block was written; its index key waits for the next key
    private BlockHandle _pendingHandle;
    private byte[] _pendingLastKey = new byte[64];
    private int _pendingLastKeyLength;
    private byte[] _separator = new byte[64];
    private long _minTs = long.MaxValue, _maxTs = long.MinValue, _tombstones, _rawKey, _rawValue, _blocks, _expiring;
    private double _expirySum;
    private bool _finished;

    public TableBuilder(IWritableFile file, TableOptions options)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _file = file;
        _options = options;
        _data = new BlockBuilder(options.RestartInterval);
        _filter = new BloomFilterBuilder(options.BloomBitsPerKey);
        _startOffset = _offset = file.Length;
    }

    public long EntryCount { get; private set; }

    /// <summary>Called with each data block's file offset and uncompressed contents (the form the block cache keeps)
    /// as it is written; the span is only valid during the call. Flushes fill the block cache this way.</summary>
    public Action<long, ReadOnlySpan<byte>>? DataBlockWritten { get; set; }

    /// <summary>Bytes the table would take if finished now (data written so far plus the open block, index and filter).</summary>
    public long EstimatedFileSize =>
        _offset - _startOffset + _data.CurrentSize + _index.CurrentSize + ((long)_filter.KeyCount * _options.BloomBitsPerKey / 8) + Footer.Length;

    /// <summary>Adds an entry. Keys must be strictly increasing in <see cref="InternalKey.Compare"/> order.</summary>
    public void Add(ReadOnlySpan<byte> internalKey, ReadOnlySpan<byte> value)
    {
        if (_finished) throw new InvalidOperationException("the table is already finished");
        if (internalKey.Length < InternalKey.TrailerSize)
            throw new ArgumentException($"an internal key has at least {InternalKey.TrailerSize} bytes; got {internalKey.Length}", nameof(internalKey));

        var userKey = InternalKey.UserKey(internalKey);
        if (_lastKeyLength < 0)
        {
            _smallestKey = internalKey.ToArray();
            _filter.AddKey(userKey);
        }
        else
        {
            var last = _lastKey.AsSpan(0, _lastKeyLength);
            if (InternalKey.Compare(last, internalKey) >= 0)
                throw new InvalidOperationException("table entries must be added in strictly increasing internal-key order");
            if (!userKey.SequenceEqual(InternalKey.UserKey(last))) _filter.AddKey(userKey);
        }

        if (_lastKey.Length < internalKey.Length) _lastKey = new byte[Math.Max(internalKey.Length, _lastKey.Length * 2)];
        internalKey.CopyTo(_lastKey);
        _lastKeyLength = internalKey.Length;

        var ts = InternalKey.Timestamp(internalKey);
        if (ts < _minTs) _minTs = ts;
        if (ts > _maxTs) _maxTs = ts;
        if (InternalKey.Kind(internalKey) == EntryKind.Tombstone) _tombstones++;
        else if (EntryValue.TryRead(value, out var expiresAt, out _) && expiresAt != 0)
        {
            _expiring++;
            _expirySum += expiresAt;
        }
        _rawKey += internalKey.Length;
        _rawValue += value.Length;
        EntryCount++;

        if (_pendingIndexEntry)
        {
            var separatorLength = WriteSeparator(_pendingLastKey.AsSpan(0, _pendingLastKeyLength), internalKey);
            AddIndexEntry(_separator.AsSpan(0, separatorLength), _pendingHandle);
        }

        _data.Add(internalKey, value);
        if (_data.CurrentSize >= _options.BlockSize) FlushDataBlock();
    }

    /// <summary>Writes the open data block, filter, properties, index and footer, and flushes the file.</summary>
    public TableProperties Finish()
    {
        if (_finished) throw new InvalidOperationException("the table is already finished");
        _finished = true;
        if (!_data.IsEmpty) FlushDataBlock();
        if (_pendingIndexEntry) AddIndexEntry(_pendingLastKey.AsSpan(0, _pendingLastKeyLength), _pendingHandle);
        var dataSize = _offset - _startOffset;

        var filterHandle = WriteBlock(_filter.Finish(), compress: false);
        var indexContents = _index.Finish();
        var properties = new TableProperties
        {
            SmallestKey = _smallestKey,
            LargestKey = _lastKeyLength < 0 ? [] : _lastKey.AsSpan(0, _lastKeyLength).ToArray(),
            MinTimestamp = EntryCount == 0 ? 0 : _minTs,
            MaxTimestamp = EntryCount == 0 ? 0 : _maxTs,
            EntryCount = EntryCount,
            TombstoneCount = _tombstones,
            DataSize = dataSize,
            IndexSize = indexContents.Length + BlockTrailer.Size,
            FilterSize = filterHandle.Size + BlockTrailer.Size,
            RawKeySize = _rawKey,
            RawValueSize = _rawValue,
            DataBlockCount = _blocks,
            Compression = _options.Compression ? BlockCompression.Lz4 : BlockCompression.None,
            CreationTimeUnixMs = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            FilterKeyCount = _filter.KeyCount,
            ExpiringCount = _expiring,
            MeanExpiresAtUnixMs = _expiring == 0 ? 0 : (long)Math.Round(_expirySum / _expiring),
        };
        var propertiesHandle = WriteBlock(properties.Encode(), compress: false);
        var indexHandle = WriteBlock(indexContents, compress: false);

        Span<byte> footer = stackalloc byte[Footer.Length];
        new Footer(filterHandle, propertiesHandle, indexHandle).EncodeTo(footer);
        _file.Append(footer);
        _offset += Footer.Length;
        _file.Flush();
        return properties;
    }

    public void Dispose() => _finished = true;

    private void FlushDataBlock()
    {
        var contents = _data.Finish();
        _pendingHandle = WriteBlock(contents, _options.Compression);
        DataBlockWritten?.Invoke(_pendingHandle.Offset, contents);
        var last = _data.LastKey;
        if (_pendingLastKey.Length < last.Length) _pendingLastKey = new byte[Math.Max(last.Length, _pendingLastKey.Length * 2)];
        last.CopyTo(_pendingLastKey);
        _pendingLastKeyLength = last.Length;
        _pendingIndexEntry = true;
        _data.Reset();
        _blocks++;
    }

    private void AddIndexEntry(ReadOnlySpan<byte> key, BlockHandle handle)
    {
        Span<byte> encoded = stackalloc byte[BlockHandle.MaxEncodedLength];
        var n = handle.EncodeTo(encoded);
        _index.Add(key, encoded[..n]);
        _pendingIndexEntry = false;
    }

    /// <summary>
    /// Writes into <c>_separator</c> a short internal key s with <paramref name="last"/> &lt;= s &lt; <paramref name="next"/>
    /// (in <see cref="InternalKey.Compare"/> order) and returns its length. When the user keys differ at a byte that can be
    /// incremented without reaching <paramref name="next"/>'s byte, s is that shortened user key with the smallest trailer
    /// (s &gt; last because its user key is greater; s &lt; next because its user key is smaller); otherwise s = last.
    /// </summary>
    private int WriteSeparator(ReadOnlySpan<byte> last, ReadOnlySpan<byte> next)
    {
        var lastUser = InternalKey.UserKey(last);
        var nextUser = InternalKey.UserKey(next);
        var prefix = lastUser.CommonPrefixLength(nextUser);
        int length;
        if (prefix < lastUser.Length && prefix < nextUser.Length && lastUser[prefix] < 0xFF && lastUser[prefix] + 1 < nextUser[prefix]
            && prefix + 1 < lastUser.Length)
        {
            length = InternalKey.EncodedLength(prefix + 1);
            if (_separator.Length < length) _separator = new byte[Math.Max(length, _separator.Length * 2)];
            lastUser[..prefix].CopyTo(_separator);
            _separator[prefix] = (byte)(lastUser[prefix] + 1);
            InternalKey.WriteSeekKey(_separator, _separator.AsSpan(0, prefix + 1));
        }
        else
        {
            length = last.Length;
            if (_separator.Length < length) _separator = new byte[Math.Max(length, _separator.Length * 2)];
            last.CopyTo(_separator);
        }
        return length;
    }

    private BlockHandle WriteBlock(ReadOnlySpan<byte> contents, bool compress)
    {
        var type = BlockCompression.None;
        if (compress && contents.Length >= 64)
        {
            var max = Varint.MaxLength32 + LZ4Codec.MaximumOutputSize(contents.Length);
            if (_compressed.Length < max) _compressed = new byte[Math.Max(max, _compressed.Length * 2)];
            var n = Varint.Write(_compressed, (ulong)contents.Length);
            var encoded = LZ4Codec.Encode(contents, _compressed.AsSpan(n));
            // Keep it uncompressed unless LZ4 saves at least 12.5%: decompression costs on every read.
            if (encoded > 0 && n + encoded <= contents.Length - (contents.Length / 8))
            {
                contents = _compressed.AsSpan(0, n + encoded);
                type = BlockCompression.Lz4;
            }
        }

        Span<byte> trailer = stackalloc byte[BlockTrailer.Size];
        BlockTrailer.Write(trailer, contents, type);
        _file.Append(contents);
        _file.Append(trailer);
        var handle = new BlockHandle(_offset, contents.Length);
        _offset += contents.Length + BlockTrailer.Size;
        return handle;
    }
}
