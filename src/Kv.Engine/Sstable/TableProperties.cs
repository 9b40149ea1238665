using Kv.Engine.Format;

namespace Kv.Engine.Sstable;

/// <summary>
/// Facts about a table, written into its properties block when it is built and read back on open.
/// Immutable once published by <see cref="TableBuilder.Finish"/> or <see cref="TableReader.Open"/>.
/// <code>
/// // properties block contents := property*
/// // property := tag: varint | length: varint | value: u8*length
/// //   integers are varints (longs as their u64 two's complement); keys are raw internal-key bytes.
/// //   tags:  1 smallest key   2 largest key   3 min timestamp   4 max timestamp   5 entry count
/// //          6 tombstone count   7 data size   8 index size   9 filter size   10 raw key size
/// //          11 raw value size   12 data block count   13 compression (u8 BlockCompression)
/// //          14 creation time (unix ms)   15 distinct user keys in the filter
/// //          16 values with an expiry     17 their mean expiry (unix ms; 0 without any)
/// //   unknown tags are skipped, so later versions may add properties without a format change.
/// </code>
/// wire format: tag numbers must never be reused.
/// </summary>
public sealed class TableProperties
{
    private const int TagSmallestKey = 1, TagLargestKey = 2, TagMinTimestamp = 3, TagMaxTimestamp = 4, TagEntryCount = 5,
        TagTombstoneCount = 6, TagDataSize = 7, TagIndexSize = 8, TagFilterSize = 9, TagRawKeySize = 10,
        TagRawValueSize = 11, TagDataBlockCount = 12, TagCompression = 13, TagCreationTime = 14, TagFilterKeyCount = 15,
        TagExpiringCount = 16, TagMeanExpiry = 17;

    /// <summary>Smallest internal key in the table (empty if the table has no entries).</summary>
    public byte[] SmallestKey { get; init; } = [];

    /// <summary>Largest internal key in the table (empty if the table has no entries).</summary>
    public byte[] LargestKey { get; init; } = [];

    public long MinTimestamp { get; init; }
    public long MaxTimestamp { get; init; }
    public long EntryCount { get; init; }
    public long TombstoneCount { get; init; }

    /// <summary>Bytes of data blocks on disk, trailers included.</summary>
    public long DataSize { get; init; }

    /// <summary>Bytes of the index block on disk, trailer included.</summary>
    public long IndexSize { get; init; }

    /// <summary>Bytes of the filter block on disk, trailer included.</summary>
    public long FilterSize { get; init; }

    /// <summary>Sum of internal key lengths as added.</summary>
    public long RawKeySize { get; init; }

    /// <summary>Sum of entry value lengths as added.</summary>
    public long RawValueSize { get; init; }

    public long DataBlockCount { get; init; }

    /// <summary>Compression the builder was asked for (single blocks may still be stored uncompressed).</summary>
    public BlockCompression Compression { get; init; }

    public long CreationTimeUnixMs { get; init; }

    /// <summary>Distinct user keys added to the Bloom filter.</summary>
    public long FilterKeyCount { get; init; }

    /// <summary>Values (not tombstones) that carry an expiry, expired ones included. 0 in tables written before this
    /// property existed.</summary>
    public long ExpiringCount { get; init; }

    /// <summary>The mean expiry (unix ms) of those values; 0 when there are none.</summary>
    public long MeanExpiresAtUnixMs { get; init; }

    internal byte[] Encode()
    {
        // every property: tag and length varints (at most 5 bytes each) plus a value of at most 10 varint bytes
        var size = SmallestKey.Length + LargestKey.Length + (TagMeanExpiry * ((2 * Varint.MaxLength32) + Varint.MaxLength64));
        var buffer = new byte[size];
        var n = 0;
        n += PutBytes(buffer.AsSpan(n), TagSmallestKey, SmallestKey);
        n += PutBytes(buffer.AsSpan(n), TagLargestKey, LargestKey);
        n += PutInt(buffer.AsSpan(n), TagMinTimestamp, MinTimestamp);
        n += PutInt(buffer.AsSpan(n), TagMaxTimestamp, MaxTimestamp);
        n += PutInt(buffer.AsSpan(n), TagEntryCount, EntryCount);
        n += PutInt(buffer.AsSpan(n), TagTombstoneCount, TombstoneCount);
        n += PutInt(buffer.AsSpan(n), TagDataSize, DataSize);
        n += PutInt(buffer.AsSpan(n), TagIndexSize, IndexSize);
        n += PutInt(buffer.AsSpan(n), TagFilterSize, FilterSize);
        n += PutInt(buffer.AsSpan(n), TagRawKeySize, RawKeySize);
        n += PutInt(buffer.AsSpan(n), TagRawValueSize, RawValueSize);
        n += PutInt(buffer.AsSpan(n), TagDataBlockCount, DataBlockCount);
        n += PutInt(buffer.AsSpan(n), TagCompression, (long)Compression);
        n += PutInt(buffer.AsSpan(n), TagCreationTime, CreationTimeUnixMs);
        n += PutInt(buffer.AsSpan(n), TagFilterKeyCount, FilterKeyCount);
        n += PutInt(buffer.AsSpan(n), TagExpiringCount, ExpiringCount);
        n += PutInt(buffer.AsSpan(n), TagMeanExpiry, MeanExpiresAtUnixMs);
        return buffer.AsSpan(0, n).ToArray();
    }

    /// <summary>Parses a properties block; null if it is malformed.</summary>
    internal static TableProperties? TryDecode(ReadOnlySpan<byte> contents)
    {
        byte[] smallest = [], largest = [];
        long minTs = 0, maxTs = 0, entries = 0, tombstones = 0, dataSize = 0, indexSize = 0, filterSize = 0,
            rawKey = 0, rawValue = 0, blocks = 0, compression = 0, created = 0, filterKeys = 0, expiring = 0, meanExpiry = 0;
        while (!contents.IsEmpty)
        {
            var n = Varint.TryRead(contents, out uint tag);
            if (n == 0) return null;
            var m = Varint.TryRead(contents[n..], out uint length);
            if (m == 0 || length > contents.Length - n - m) return null;
            var value = contents.Slice(n + m, (int)length);
            contents = contents[(n + m + (int)length)..];
            switch (tag)
            {
                case TagSmallestKey: smallest = value.ToArray(); break;
                case TagLargestKey: largest = value.ToArray(); break;
                default:
                    if (tag > TagMeanExpiry) break; // a property from a later version
                    if (Varint.TryRead(value, out ulong v) != value.Length) return null;
                    var x = (long)v;
                    switch (tag)
                    {
                        case TagMinTimestamp: minTs = x; break;
                        case TagMaxTimestamp: maxTs = x; break;
                        case TagEntryCount: entries = x; break;
                        case TagTombstoneCount: tombstones = x; break;
                        case TagDataSize: dataSize = x; break;
                        case TagIndexSize: indexSize = x; break;
                        case TagFilterSize: filterSize = x; break;
                        case TagRawKeySize: rawKey = x; break;
                        case TagRawValueSize: rawValue = x; break;
                        case TagDataBlockCount: blocks = x; break;
                        case TagCompression: compression = x; break;
                        case TagCreationTime: created = x; break;
                        case TagFilterKeyCount: filterKeys = x; break;
                        case TagExpiringCount: expiring = x; break;
                        case TagMeanExpiry: meanExpiry = x; break;
                        default: break;
                    }
                    break;
            }
        }

        return new TableProperties
        {
            SmallestKey = smallest,
            LargestKey = largest,
            MinTimestamp = minTs,
            MaxTimestamp = maxTs,
            EntryCount = entries,
            TombstoneCount = tombstones,
            DataSize = dataSize,
            IndexSize = indexSize,
            FilterSize = filterSize,
            RawKeySize = rawKey,
            RawValueSize = rawValue,
            DataBlockCount = blocks,
            Compression = (BlockCompression)compression,
            CreationTimeUnixMs = created,
            FilterKeyCount = filterKeys,
            ExpiringCount = expiring,
            MeanExpiresAtUnixMs = meanExpiry,
        };
    }

    private static int PutBytes(Span<byte> dst, int tag, ReadOnlySpan<byte> value)
    {
        var n = Varint.Write(dst, (ulong)tag);
        n += Varint.Write(dst[n..], (ulong)value.Length);
        value.CopyTo(dst[n..]);
        return n + value.Length;
    }

    private static int PutInt(Span<byte> dst, int tag, long value)
    {
        var n = Varint.Write(dst, (ulong)tag);
        var len = Varint.Length((ulong)value);
        n += Varint.Write(dst[n..], (ulong)len);
        return n + Varint.Write(dst[n..], (ulong)value);
    }
}
