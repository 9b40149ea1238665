using System.Text;
using Kv.Engine.Format;
using Kv.Engine.Sstable;
using static Kv.Engine.Tests.Sstable.SstableTestData;

namespace Kv.Engine.Tests.Sstable;

public class BlockTests
{
    private static (byte[] Data, int Length) BuildBlock(List<TestEntry> entries, int restartInterval)
    {
        var builder = new BlockBuilder(restartInterval);
        foreach (var e in entries) builder.Add(e.Key, e.Value);
        Assert.Equal(builder.CurrentSize, builder.Finish().Length);
        var data = builder.Finish().ToArray();
        return (data, data.Length);
    }

    private static void AssertRoundTripAndSeeks(List<TestEntry> entries, int restartInterval, IEnumerable<byte[]>? extraProbes = null)
    {
        var (data, length) = BuildBlock(entries, restartInterval);
        var it = new BlockIterator(data, length);
        AssertSameEntries(entries, ReadAll(it));

        // Seek to every key lands exactly on it.
        for (var i = 0; i < entries.Count; i++)
        {
            it.Seek(entries[i].Key);
            Assert.True(it.Valid);
            Assert.Equal(entries[i].Key, it.Key.ToArray());
            Assert.Equal(entries[i].Value, it.Value.ToArray());
        }

        // Seek between keys and beyond: lands on the model's lower bound.
        var probes = new List<byte[]>(extraProbes ?? []);
        foreach (var e in entries)
        {
            probes.Add(SeekKey(e.UserKey));
            probes.Add(Ik(e.UserKey, e.Timestamp - 1, EntryKind.Tombstone));
            probes.Add(Ik([.. e.UserKey, 0], long.MaxValue, EntryKind.Tombstone));
            if (e.Kind == EntryKind.Tombstone) probes.Add(Ik(e.UserKey, e.Timestamp, EntryKind.Value));
        }
        foreach (var probe in probes)
        {
            var expected = LowerBound(entries, probe);
            it.Seek(probe);
            if (expected == entries.Count)
            {
                Assert.False(it.Valid);
            }
            else
            {
                Assert.True(it.Valid);
                Assert.Equal(entries[expected].Key, it.Key.ToArray());
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(16)]
    public void BuildIterate_PrefixRelatedKeys_RoundTripsAndSeeksEveryKey(int restartInterval)
    {
        var entries = SortedDistinct(
        [
            new TestEntry(Ik("", 5), "empty-user-key"u8.ToArray()),
            new TestEntry(Ik("", 3, EntryKind.Tombstone), []),
            new TestEntry(Ik("a", 1), "a"u8.ToArray()),
            new TestEntry(Ik("ab", 9), "ab"u8.ToArray()),
            new TestEntry(Ik("ab", 9, EntryKind.Tombstone), []),
            new TestEntry(Ik("abc", 2), "abc"u8.ToArray()),
            new TestEntry(Ik("abd", 2), []),
            new TestEntry(Ik("b", long.MaxValue), "max-ts"u8.ToArray()),
            new TestEntry(Ik("b", 0), "zero-ts"u8.ToArray()),
            new TestEntry(Ik("b\0", 7), "nul-suffix"u8.ToArray()),
            new TestEntry(Ik("\u00ff\u00ff", 1), "high bytes"u8.ToArray()),
        ]);
        AssertRoundTripAndSeeks(entries, restartInterval, [Ik("zzz", 1), Ik("", long.MaxValue, EntryKind.Tombstone)]);
    }

    [Fact]
    public void BuildIterate_ManyVersionsOfOneKey_NewestFirstAndSeekByTimestamp()
    {
        var entries = new List<TestEntry>();
        for (long ts = 1000; ts >= 1; ts--) entries.Add(new TestEntry(Ik("key", ts, ts % 7 == 0 ? EntryKind.Tombstone : EntryKind.Value), BitConverter.GetBytes(ts)));
        entries = SortedDistinct(entries);
        Assert.Equal(1000, InternalKey.Timestamp(entries[0].Key));
        AssertRoundTripAndSeeks(entries, 16);

        var (data, length) = BuildBlock(entries, 16);
        var it = new BlockIterator(data, length);
        it.Seek(Ik("key", 500, EntryKind.Tombstone));
        Assert.Equal(500, InternalKey.Timestamp(it.Key));
    }

    [Fact]
    public void BuildIterate_OneKiBKeysAndOneMiBValues_RoundTrip()
    {
        var random = new Random(42);
        var entries = new List<TestEntry>();
        for (var i = 0; i < 20; i++)
        {
            var userKey = new byte[1024];
            random.NextBytes(userKey);
            userKey[0] = (byte)(i / 2); // pairs share a first byte, then differ
            var value = new byte[i % 5 == 0 ? 1 << 20 : random.Next(0, 300)];
            random.NextBytes(value);
            entries.Add(new TestEntry(Ik(userKey, i), value));
        }
        entries = SortedDistinct(entries);
        AssertRoundTripAndSeeks(entries, 4);
    }

    [Fact]
    public void Iterate_EmptyBlock_IsNeverValid()
    {
        var (data, length) = BuildBlock([], 16);
        var it = new BlockIterator(data, length);
        it.SeekToFirst();
        Assert.False(it.Valid);
        it.Seek(Ik("a", 1));
        Assert.False(it.Valid);
    }

    [Fact]
    public void BuildIterate_RandomKeys_SeeksMatchModel()
    {
        var random = new Random(7);
        var entries = new List<TestEntry>();
        for (var i = 0; i < 2000; i++)
        {
            var userKey = new byte[random.Next(0, 6)];
            for (var j = 0; j < userKey.Length; j++) userKey[j] = (byte)random.Next(0, 3);
            entries.Add(new TestEntry(Ik(userKey, random.Next(0, 5), (EntryKind)random.Next(0, 2)), Encoding.ASCII.GetBytes(i.ToString())));
        }
        AssertRoundTripAndSeeks(SortedDistinct(entries), 16);
    }

    [Fact]
    public void Reset_RestartCountLargerThanBlock_ThrowsCorruption()
    {
        var (data, length) = BuildBlock([new TestEntry(Ik("a", 1), [1])], 16);
        data[^4] = 0xFF;
        var ex = Assert.Throws<CorruptionException>(() => new BlockIterator(data, length, "t.sst", 1234));
        Assert.Equal("t.sst", ex.FilePath);
        Assert.Equal(1234, ex.Offset);
    }
}
