using System.Buffers.Binary;
using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.Sstable;
using static Kv.Engine.Tests.Sstable.SstableTestData;

namespace Kv.Engine.Tests.Sstable;

public class TableFormatTests
{
    [Fact]
    public void FooterDecode_OtherFormatVersion_ThrowsCorruptionNamingVersion()
    {
        var footer = new byte[Footer.Length];
        new Footer(new BlockHandle(1, 2), new BlockHandle(3, 4), new BlockHandle(5, 6)).EncodeTo(footer);
        Assert.Equal(new Footer(new BlockHandle(1, 2), new BlockHandle(3, 4), new BlockHandle(5, 6)), Footer.Decode(footer, "x.sst", 100));

        BinaryPrimitives.WriteUInt32LittleEndian(footer.AsSpan(Footer.HandlesLength + 4), 2);
        var ex = Assert.Throws<CorruptionException>(() => Footer.Decode(footer, "x.sst", 100));
        Assert.Equal(100 + Footer.HandlesLength + 4, ex.Offset);
        Assert.Contains("version 2", ex.Message);
    }

    [Fact]
    public void PropertiesDecode_UnknownTag_IsSkipped()
    {
        var props = new TableProperties { SmallestKey = Ik("a", 1), LargestKey = Ik("z", 9), EntryCount = 42, MinTimestamp = -5, TombstoneCount = 3 };
        var encoded = props.Encode();
        byte[] extra = [99, 3, 1, 2, 3]; // tag 99, length 3: a property from a later version
        var decoded = TableProperties.TryDecode([.. extra, .. encoded, .. extra]);
        Assert.NotNull(decoded);
        Assert.Equal(props.SmallestKey, decoded.SmallestKey);
        Assert.Equal(props.LargestKey, decoded.LargestKey);
        Assert.Equal(42, decoded.EntryCount);
        Assert.Equal(-5, decoded.MinTimestamp);
        Assert.Equal(3, decoded.TombstoneCount);
    }

    [Fact]
    public void PropertiesDecode_LengthPastEnd_ReturnsNull()
    {
        Assert.Null(TableProperties.TryDecode([5, 10, 1]));
    }

    [Fact]
    public void MayContain_ZeroBitsPerKey_NeverExcludes()
    {
        var builder = new BloomFilterBuilder(0);
        builder.AddKey("a"u8);
        var filter = builder.Finish();
        Assert.True(BloomFilter.MayContain(filter, "a"u8));
        Assert.True(BloomFilter.MayContain(filter, "anything else"u8));
    }

    [Fact]
    public void MayContain_AddedKeys_AlwaysTrue()
    {
        var builder = new BloomFilterBuilder(10);
        for (var i = 0; i < 1000; i++) builder.AddKey(BitConverter.GetBytes(i));
        var filter = builder.Finish();
        for (var i = 0; i < 1000; i++) Assert.True(BloomFilter.MayContain(filter, BitConverter.GetBytes(i)));
        Assert.Equal(BloomFilterBuilder.ProbeCount(10), filter[^1]);
    }

    [Fact]
    public void Build_CompressibleAndRandomValues_CompressesOnlyWhereItPays()
    {
        using var dir = new TempDirectory();
        var random = new Random(3);
        var compressible = new List<TestEntry>();
        var incompressible = new List<TestEntry>();
        for (var i = 0; i < 500; i++)
        {
            compressible.Add(new TestEntry(Ik($"k{i:D5}", 1), new byte[100]));
            var noise = new byte[100];
            random.NextBytes(noise);
            incompressible.Add(new TestEntry(Ik($"k{i:D5}", 1), noise));
        }
        var small = Build(dir.File("c.sst"), compressible);
        var big = Build(dir.File("r.sst"), incompressible);
        Assert.True(small.DataSize < small.RawValueSize / 4, $"compressible data took {small.DataSize} bytes");
        // Random values stay uncompressed: the data size is the raw block size, never LZ4's expansion.
        Assert.True(big.DataSize < big.RawKeySize + big.RawValueSize + (big.DataBlockCount * 100), $"random data took {big.DataSize} bytes");
        Assert.All(CompressionBytes(dir.File("r.sst")), b => Assert.Equal((byte)BlockCompression.None, b));
        Assert.All(CompressionBytes(dir.File("c.sst")), b => Assert.Equal((byte)BlockCompression.Lz4, b));
        using var reader = Open(dir.File("c.sst"));
        using var it = reader.NewIterator();
        AssertSameEntries(compressible, ReadAll(it));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TryGetNewest_OneMiBValuesAndOneKiBKeys_RoundTrip(bool cached)
    {
        using var dir = new TempDirectory();
        var random = new Random(5);
        var entries = new List<TestEntry>();
        for (var i = 0; i < 8; i++)
        {
            var userKey = new byte[1024];
            random.NextBytes(userKey);
            var value = new byte[i % 2 == 0 ? 1 << 20 : 10];
            random.NextBytes(value.AsSpan(0, value.Length / 2));
            entries.Add(new TestEntry(Ik(userKey, 1), value));
        }
        entries = SortedDistinct(entries);
        Build(dir.File("l.sst"), entries);
        using var reader = Open(dir.File("l.sst"), 1, cached ? new BlockCache(8L << 20, 2) : null);
        foreach (var e in entries)
        {
            var got = Get(reader, e.UserKey);
            Assert.True(got.Found);
            Assert.Equal(e.Value, got.Value);
        }
        using var it = reader.NewIterator();
        AssertSameEntries(entries, ReadAll(it));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Build_GappedUserKeys_IndexHoldsShortSeparatorsThatStillRouteCorrectly(int versions)
    {
        using var dir = new TempDirectory();
        var entries = new List<TestEntry>();
        for (var i = 0; i < 400; i++)
        {
            // base-5 digits spelled 0,2,4,6,8: neighbouring user keys differ by at least 2 at their first
            // differing byte, so a separator can always be shortened there unless a block ends inside a key's versions
            var digits = new char[5];
            for (int d = 4, x = i; d >= 0; d--, x /= 5) digits[d] = (char)('0' + (2 * (x % 5)));
            for (var ts = versions; ts >= 1; ts--)
                entries.Add(new TestEntry(Ik(new string(digits) + "-a-long-common-suffix", ts), [(byte)i, (byte)ts]));
        }
        var path = dir.File("s.sst");
        Build(path, entries, new TableOptions { BlockSize = 200, Compression = false });

        var separators = IndexKeys(path);
        Assert.True(separators.Count > 20);
        var shortened = separators.Count(k => k.Length < entries[0].Key.Length);
        if (versions == 1) Assert.Equal(separators.Count - 1, shortened); // all but the last block's
        else Assert.InRange(shortened, 1, separators.Count - 1);
        for (var i = 0; i + 1 < separators.Count; i++) Assert.True(InternalKey.Compare(separators[i], separators[i + 1]) < 0);

        using var reader = Open(path);
        using var it = reader.NewIterator();
        foreach (var separator in separators)
        {
            // Between the blocks: the separator's user key is absent, and a seek to it lands on the model's answer.
            var userKey = InternalKey.UserKey(separator).ToArray();
            var expected = LowerBound(entries, separator);
            it.Seek(separator);
            Assert.Equal(expected < entries.Count, it.Valid);
            if (it.Valid) Assert.Equal(entries[expected].Key, it.Key.ToArray());
            var got = Get(reader, userKey);
            Assert.Equal(entries.Any(e => e.UserKey.AsSpan().SequenceEqual(userKey)), got.Found);
        }
        foreach (var e in entries.Where(e => e.Timestamp == 3))
        {
            var got = Get(reader, e.UserKey);
            Assert.True(got.Found);
            Assert.Equal(e.Value, got.Value);
        }
        AssertSameEntries(entries, ReadAll(it));
    }

    private static List<byte[]> IndexKeys(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var footer = Footer.Decode(bytes.AsSpan(bytes.Length - Footer.Length), path, bytes.Length - Footer.Length);
        var index = bytes.AsSpan((int)footer.Index.Offset, footer.Index.Size).ToArray();
        var it = new BlockIterator(index, index.Length);
        var keys = new List<byte[]>();
        for (it.SeekToFirst(); it.Valid; it.Next()) keys.Add(it.Key.ToArray());
        return keys;
    }

    /// <summary>The compression byte of every data block, found by walking the index.</summary>
    private static List<byte> CompressionBytes(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var footer = Footer.Decode(bytes.AsSpan(bytes.Length - Footer.Length), path, bytes.Length - Footer.Length);
        var index = bytes.AsSpan((int)footer.Index.Offset, footer.Index.Size).ToArray();
        var it = new BlockIterator(index, index.Length);
        var result = new List<byte>();
        for (it.SeekToFirst(); it.Valid; it.Next())
        {
            BlockHandle.TryDecode(it.Value, out var h);
            result.Add(bytes[h.Offset + h.Size]);
        }
        return result;
    }
}
