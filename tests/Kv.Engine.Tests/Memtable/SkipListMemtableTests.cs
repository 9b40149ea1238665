using System.Text;
using Kv.Engine.Format;
using Kv.Engine.Memtable;

namespace Kv.Engine.Tests.Memtable;

public class SkipListMemtableTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Val(string s)
    {
        var v = new byte[EntryValue.EncodedLength(0, s.Length)];
        EntryValue.Write(v, 0, B(s));
        return v;
    }

    [Theory]
    [InlineData(16, 100, 1)]   // node-shaped: token + "key:NNNNNNNN", 100-byte value
    [InlineData(3, 0, 2048)]   // one partition, so head towers grow their tall parts in the arena
    [InlineData(40, 1000, 64)]
    public void EntryBytes_MatchesWhatInsertsTakeOnAverage(int keyLength, int valueLength, int partitions)
    {
        // MEMORY USAGE reports this figure: it must stay true to the node layout.
        var rng = new Random(keyLength + valueLength);
        var m = new SkipListMemtable(4 * 1024 * 1024, partitions: partitions == 2048 ? 1 : partitions);
        var value = Val(new string('v', valueLength));
        var key = new byte[keyLength];
        const int n = 20_000;
        for (var i = 0; i < n; i++)
        {
            rng.NextBytes(key);
            m.Add(key, i + 1, EntryKind.Value, value, i + 1);
        }
        var perEntry = (double)m.ApproximateMemoryUsage / n;
        var estimate = SkipListMemtable.EntryBytes(keyLength, value.Length);
        Assert.InRange(perEntry, estimate - 1.0, estimate + 1.0);
    }

    [Fact]
    public void TryGetNewest_OlderTimestampInsertedLater_ReturnsHighestTimestamp()
    {
        var m = new SkipListMemtable(64 * 1024);
        m.Add(B("k"), 10, EntryKind.Value, Val("new"), 1);
        m.Add(B("k"), 5, EntryKind.Value, Val("old"), 2);
        Assert.True(m.TryGetNewest(B("k"), out var ts, out var kind, out var value));
        Assert.Equal(10, ts);
        Assert.Equal(EntryKind.Value, kind);
        Assert.Equal(Val("new"), value.ToArray());
    }

    [Fact]
    public void TryGetNewest_TombstoneAndValueAtSameTimestamp_TombstoneWins()
    {
        var m = new SkipListMemtable(64 * 1024);
        m.Add(B("k"), 7, EntryKind.Value, Val("v"), 1);
        m.Add(B("k"), 7, EntryKind.Tombstone, default, 2);
        Assert.True(m.TryGetNewest(B("k"), out var ts, out var kind, out _));
        Assert.Equal(7, ts);
        Assert.Equal(EntryKind.Tombstone, kind);
    }

    [Fact]
    public void TryGetNewest_IdenticalInternalKeys_GreaterValueWinsWhateverTheOrder()
    {
        foreach (var order in new[] { new[] { "b", "a", "c" }, new[] { "c", "b", "a" }, new[] { "a", "c", "b" } })
        {
            var m = new SkipListMemtable(64 * 1024);
            var seq = 0;
            foreach (var v in order) m.Add(B("k"), 3, EntryKind.Value, Val(v), ++seq);
            Assert.True(m.TryGetNewest(B("k"), out _, out _, out var value));
            Assert.Equal(Val("c"), value.ToArray());
        }
    }

    [Fact]
    public void TryGetNewest_PrefixOfStoredKey_IsAbsent()
    {
        var m = new SkipListMemtable(64 * 1024);
        m.Add(B("abc"), 1, EntryKind.Value, Val("v"), 1);
        Assert.False(m.TryGetNewest(B("ab"), out _, out _, out _));
        Assert.False(m.TryGetNewest(B("abcd"), out _, out _, out _));
        Assert.False(m.TryGetNewest(default, out _, out _, out _));
    }

    [Fact]
    public void Iterator_ManyRandomEntries_YieldsInternalKeyOrder()
    {
        var m = new SkipListMemtable(64 * 1024);
        var rng = new Random(42);
        var expected = new List<byte[]>();
        for (var i = 0; i < 5000; i++)
        {
            var key = B($"key{rng.Next(1000):D4}");
            var ts = rng.Next(1, 50);
            var kind = rng.Next(4) == 0 ? EntryKind.Tombstone : EntryKind.Value;
            m.Add(key, ts, kind, kind == EntryKind.Value ? Val("x") : default, i + 1);
            var ik = new byte[InternalKey.EncodedLength(key.Length)];
            InternalKey.Write(ik, key, ts, kind);
            expected.Add(ik);
        }
        expected.Sort((a, b) => InternalKey.Compare(a, b));
        using var it = m.NewIterator();
        var n = 0;
        for (it.SeekToFirst(); it.Valid; it.Next()) Assert.Equal(expected[n++], it.Key.ToArray());
        Assert.Equal(expected.Count, n);
        Assert.Equal(5000, m.EntryCount);
    }

    [Fact]
    public void Iterator_ShortKeysZeroBytesAndSharedPrefixes_OrderAndLookupsMatchBytewiseOrder()
    {
        // Keys shorter than the 8-byte node prefix, keys that differ only by trailing zero bytes, and keys
        // sharing 8+ bytes: the cases where ordering by the zero-padded prefix could go wrong.
        var m = new SkipListMemtable(64 * 1024);
        var rng = new Random(7);
        var keys = new HashSet<string>();
        byte[][] alphabet = [[0], [1], [(byte)'a'], [0xFF]];
        var expected = new List<byte[]>();
        for (var i = 0; i < 3000; i++)
        {
            var key = new byte[rng.Next(0, 12)];
            for (var j = 0; j < key.Length; j++) key[j] = alphabet[rng.Next(alphabet.Length)][0];
            var ts = rng.Next(1, 5);
            m.Add(key, ts, EntryKind.Value, Val("v"), i + 1);
            var ik = new byte[InternalKey.EncodedLength(key.Length)];
            InternalKey.Write(ik, key, ts, EntryKind.Value);
            expected.Add(ik);
            keys.Add(Convert.ToHexString(key));
        }
        expected.Sort((a, b) => InternalKey.Compare(a, b));
        using (var it = m.NewIterator())
        {
            var n = 0;
            for (it.SeekToFirst(); it.Valid; it.Next()) Assert.Equal(expected[n++], it.Key.ToArray());
            Assert.Equal(expected.Count, n);
        }
        foreach (var hex in keys) Assert.True(m.TryGetNewest(Convert.FromHexString(hex), out _, out _, out _), hex);
        Assert.False(m.TryGetNewest([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], out _, out _, out _));
        Assert.False(m.TryGetNewest([2], out _, out _, out _));
    }

    [Fact]
    public void Iterator_Snapshot_HidesLaterSequences()
    {
        var m = new SkipListMemtable(64 * 1024);
        m.Add(B("a"), 1, EntryKind.Value, Val("1"), 1);
        m.Add(B("b"), 1, EntryKind.Value, Val("2"), 2);
        m.Add(B("c"), 1, EntryKind.Value, Val("3"), 3);
        using var it = m.NewIterator(snapshotSequence: 2);
        var keys = new List<string>();
        for (it.SeekToFirst(); it.Valid; it.Next()) keys.Add(Encoding.UTF8.GetString(InternalKey.UserKey(it.Key)));
        Assert.Equal(["a", "b"], keys);
    }

    [Fact]
    public void Add_LargeEntries_GetOwnChunksAndReadBack()
    {
        var m = new SkipListMemtable(64 * 1024);
        var big = new byte[1 << 20];
        new Random(1).NextBytes(big);
        var bigEntry = new byte[EntryValue.EncodedLength(0, big.Length)];
        EntryValue.Write(bigEntry, 0, big);
        m.Add(B("big"), 1, EntryKind.Value, bigEntry, 1);
        m.Add(B("small"), 1, EntryKind.Value, Val("s"), 2);
        Assert.True(m.TryGetNewest(B("big"), out _, out _, out var v));
        Assert.True(v.SequenceEqual(bigEntry));
        Assert.True(m.TryGetNewest(B("small"), out _, out _, out var s));
        Assert.Equal(Val("s"), s.ToArray());
        Assert.True(m.ApproximateMemoryUsage >= big.Length);
    }

    [Fact]
    public void ConcurrentReaders_WhileWriterInserts_AlwaysSeeSortedCompleteEntries()
    {
        var m = new SkipListMemtable(64 * 1024);
        const int total = 20000;
        var done = 0;
        var failures = 0;
        var readers = new Thread[2];
        for (var r = 0; r < readers.Length; r++)
        {
            readers[r] = new Thread(() =>
            {
                while (Volatile.Read(ref done) == 0)
                {
                    using var it = m.NewIterator();
                    byte[]? previous = null;
                    for (it.SeekToFirst(); it.Valid; it.Next())
                    {
                        var key = it.Key.ToArray();
                        // every value repeats its key: a torn node would not
                        if (!it.Value[1..].SequenceEqual(InternalKey.UserKey(key))) Interlocked.Increment(ref failures);
                        if (previous is not null && InternalKey.Compare(previous, key) > 0) Interlocked.Increment(ref failures);
                        previous = key;
                    }
                }
            });
            readers[r].Start();
        }
        var rng = new Random(7);
        for (var i = 0; i < total; i++)
        {
            var key = B($"k{rng.Next(100000)}");
            var entry = new byte[EntryValue.EncodedLength(0, key.Length)];
            EntryValue.Write(entry, 0, key);
            m.Add(key, i, EntryKind.Value, entry, i + 1);
        }
        Volatile.Write(ref done, 1);
        foreach (var t in readers) t.Join();
        Assert.Equal(0, failures);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TryGetNewest_IndexedAndSkiplistLookups_AgreeOnEveryKey(int seed)
    {
        // The same random history (out-of-order timestamps, tombstones, identical internal keys, keys that are
        // prefixes of others) into a memtable whose point-lookup index holds every key and one whose index
        // overflows after a few keys: every lookup, present or absent, must give the same answer.
        var indexed = new SkipListMemtable(64 * 1024, expectedBytes: 1 << 20);
        var skiplist = new SkipListMemtable(64 * 1024, expectedBytes: 1);
        var rng = new Random(seed);
        string KeyOf(int i) => i % 7 == 0 ? $"k{i / 7}" : $"k{i / 7}-{i % 7}";
        for (var i = 0; i < 5000; i++)
        {
            var key = B(KeyOf(rng.Next(700)));
            var ts = rng.Next(50);
            var kind = rng.Next(5) == 0 ? EntryKind.Tombstone : EntryKind.Value;
            var value = kind == EntryKind.Tombstone ? [] : Val(rng.Next(4).ToString());
            indexed.Add(key, ts, kind, value, i + 1);
            skiplist.Add(key, ts, kind, value, i + 1);
        }
        Assert.True(indexed.IsIndexed);
        Assert.False(skiplist.IsIndexed);
        for (var i = 0; i < 800; i++)
        {
            var key = B(KeyOf(i));
            var a = indexed.TryGetNewest(key, out var ta, out var ka, out var va);
            var b = skiplist.TryGetNewest(key, out var tb, out var kb, out var vb);
            Assert.Equal(b, a);
            Assert.Equal((tb, kb), (ta, ka));
            Assert.Equal(vb.ToArray(), va.ToArray());
        }
        Assert.False(indexed.TryGetNewest(B("k"), out _, out _, out _));
        Assert.False(indexed.TryGetNewest([], out _, out _, out _));
    }

    [Fact]
    public void TryGetNewest_IndexFillsUp_SwitchesToTheSkiplistWithoutLosingKeys()
    {
        var m = new SkipListMemtable(64 * 1024, expectedBytes: 1600); // 16 slots, 9 keys
        for (var i = 0; i < 9; i++) m.Add(B("key" + i), 1, EntryKind.Value, Val("v" + i), i + 1);
        Assert.True(m.IsIndexed);
        for (var i = 9; i < 40; i++) m.Add(B("key" + i), 1, EntryKind.Value, Val("v" + i), i + 1);
        Assert.False(m.IsIndexed);
        m.Add(B("key3"), 2, EntryKind.Value, Val("newer"), 41);
        for (var i = 0; i < 40; i++)
        {
            Assert.True(m.TryGetNewest(B("key" + i), out var ts, out _, out var value));
            Assert.Equal(i == 3 ? Val("newer") : Val("v" + i), value.ToArray());
            Assert.Equal(i == 3 ? 2 : 1, ts);
        }
    }

    [Fact]
    public void ConcurrentGets_WhileWriterInsertsNewerVersions_NeverSeeATornOrOlderThanAcknowledgedValue()
    {
        // The writer publishes "acknowledged" versions of 500 keys; readers check that a get never returns a
        // version older than the last one acknowledged before it began, and that value and key always match.
        var m = new SkipListMemtable(64 * 1024, expectedBytes: 4 << 20);
        const int keys = 500;
        var acknowledged = new long[keys];
        var done = 0;
        var failures = 0;
        var readers = new Thread[2];
        for (var r = 0; r < readers.Length; r++)
        {
            var seed = r;
            readers[r] = new Thread(() =>
            {
                var rng = new Random(seed);
                while (Volatile.Read(ref done) == 0)
                {
                    var k = rng.Next(keys);
                    var floor = Volatile.Read(ref acknowledged[k]);
                    var key = B("key" + k);
                    var found = m.TryGetNewest(key, out var ts, out _, out var value);
                    if (floor > 0 && (!found || ts < floor)) Interlocked.Increment(ref failures);
                    if (found && !value[1..].SequenceEqual(key)) Interlocked.Increment(ref failures);
                }
            });
            readers[r].Start();
        }
        var wrng = new Random(9);
        for (var i = 1; i <= 40000; i++)
        {
            var k = wrng.Next(keys);
            var key = B("key" + k);
            var entry = new byte[EntryValue.EncodedLength(0, key.Length)];
            EntryValue.Write(entry, 0, key);
            m.Add(key, i, EntryKind.Value, entry, i);
            Volatile.Write(ref acknowledged[k], i);
        }
        Volatile.Write(ref done, 1);
        foreach (var t in readers) t.Join();
        Assert.True(m.IsIndexed);
        Assert.Equal(0, failures);
    }
}
