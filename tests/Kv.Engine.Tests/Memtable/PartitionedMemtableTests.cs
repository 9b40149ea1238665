using System.Buffers.Binary;
using CsCheck;
using Kv.Engine.Format;
using Kv.Engine.Memtable;

namespace Kv.Engine.Tests.Memtable;

/// <summary>
/// The partitioned skiplist (P &gt; 1 head towers chosen by the key prefix's top bits) against a sorted model:
/// random histories whose keys are short, share prefixes, crowd into one partition or sit on partition boundaries,
/// checked by full iteration, seeks, newest-version lookups and snapshot filtering; and readers racing the writer.
/// </summary>
public class PartitionedMemtableTests
{
    public sealed record Op(int Key, long Ts, bool Tombstone, byte Value);

    public sealed record Case(int Partitions, bool TinyIndex, byte[][] Keys, Op[] Ops, byte[][] Probes, long[] Snapshots)
    {
        public override string ToString() =>
            $"P={Partitions} tinyIndex={TinyIndex}\nkeys: {string.Join(" ", Keys.Select(Convert.ToHexString))}\n" +
            $"ops: {string.Join(" ", Ops.Select(o => $"{o.Key}@{o.Ts}{(o.Tombstone ? "T" : "V")}{o.Value}"))}\n" +
            $"probes: {string.Join(" ", Probes.Select(Convert.ToHexString))}\nsnapshots: {string.Join(" ", Snapshots)}";
    }

    private sealed record Entry(byte[] InternalKey, byte[] Value, long Sequence);

    /// <summary>A key whose prefix is a partition boundary of the finest grid (MaxPartitions) or one below it, so it is the first or
    /// last possible key of its partition for every P, with a short suffix.</summary>
    private static readonly Gen<byte[]> GenBoundaryKey = Gen.Select(Gen.Int[0, SkipListMemtable.MaxPartitions], Gen.Bool, Gen.Byte.Array[0, 2],
        (p, below, suffix) =>
        {
            var prefix = unchecked(((ulong)p << (64 - System.Numerics.BitOperations.Log2((uint)SkipListMemtable.MaxPartitions))) - (below ? 1UL : 0UL)); // wraps: MaxPartitions is the very first key, 0 below it the very last
            var key = new byte[8 + suffix.Length];
            BinaryPrimitives.WriteUInt64BigEndian(key, prefix);
            suffix.CopyTo(key, 8);
            return key;
        });

    private static readonly Gen<byte[]> GenKey = Gen.Frequency(
        // short keys over bytes that stress zero padding and the extreme partitions
        (3, Gen.OneOf((byte)0, (byte)1, (byte)'a', (byte)0x7F, (byte)0x80, (byte)0xFF).Array[0, 10]),
        // decimal strings: every one in the same partition
        (2, Gen.Int[0, 999].Select(i => System.Text.Encoding.ASCII.GetBytes(i.ToString("D10")))),
        // random tokens, with or without a tail
        (2, Gen.Byte.Array[8, 12]),
        (2, GenBoundaryKey));

    private static readonly Gen<Case> GenCase =
        from partitions in Gen.OneOf(1, 2, 16, 64, 128, SkipListMemtable.MaxPartitions)
        from tinyIndex in Gen.Bool
        from keys in GenKey.Array[1, 24]
        from ops in Gen.Select(Gen.Int[0, keys.Length - 1], Gen.Long[0, 5], Gen.Frequency((4, Gen.Const(false)), (1, Gen.Const(true))), Gen.Byte[0, 2],
            (k, ts, tomb, v) => new Op(k, ts, tomb, v)).Array[0, 120]
        from probes in Gen.Frequency((3, GenKey), (1, Gen.Int[0, keys.Length - 1].Select(i => keys[i]))).Array[1, 12]
        from snapshots in Gen.Long[0, ops.Length + 1].Array[1, 3]
        select new Case(partitions, tinyIndex, keys, ops, probes, snapshots);

    [Fact]
    public void AddThenRead_RandomHistoriesOverPartitions_MatchSortedModel()
    {
        GenCase.Sample(Check, iter: 1500, threads: 1, print: c => c.ToString());
    }

    private static void Check(Case c)
    {
        var m = new SkipListMemtable(64 * 1024, expectedBytes: c.TinyIndex ? 1 : 1 << 20, partitions: c.Partitions);
        Assert.Equal(c.Partitions, m.PartitionCount);
        var model = new List<Entry>();
        for (var i = 0; i < c.Ops.Length; i++)
        {
            var op = c.Ops[i];
            var key = c.Keys[op.Key];
            var kind = op.Tombstone ? EntryKind.Tombstone : EntryKind.Value;
            byte[] value = op.Tombstone ? [] : [op.Value];
            m.Add(key, op.Ts, kind, value, i + 1);
            model.Add(new Entry(Internal(key, op.Ts, kind), value, i + 1));
        }
        // Equal internal keys stay in insertion order (a new one is linked after the existing equals): a stable sort.
        var sorted = model.Select((e, i) => (e, i)).OrderBy(x => x.e.InternalKey, InternalKeyOrder.Instance).ThenBy(x => x.i).Select(x => x.e).ToList();

        foreach (var snapshot in c.Snapshots.Append(long.MaxValue))
        {
            var visible = sorted.Where(e => e.Sequence <= snapshot).ToList();
            using (var it = m.NewIterator(snapshot))
            {
                it.SeekToFirst();
                AssertYields(visible, it, int.MaxValue);
            }
            foreach (var probe in c.Probes)
            {
                // to the newest version of the probe, and to a version in the middle of its timestamps
                foreach (var target in new[] { SeekKey(probe), Internal(probe, 3, EntryKind.Value) })
                {
                    using var it = m.NewIterator(snapshot);
                    it.Seek(target);
                    AssertYields(visible.SkipWhile(e => InternalKey.Compare(e.InternalKey, target) < 0).ToList(), it, 4);
                }
            }
        }

        foreach (var key in c.Keys.Concat(c.Probes))
        {
            var versions = sorted.Where(e => InternalKey.UserKey(e.InternalKey).SequenceEqual(key)).ToList();
            var found = m.TryGetNewest(key, out var ts, out var kind, out var value);
            Assert.Equal(versions.Count > 0, found);
            if (!found) continue;
            var first = versions[0].InternalKey;
            var winner = versions.TakeWhile(e => e.InternalKey.AsSpan().SequenceEqual(first)).MaxBy(e => e.Value, ValueOrder.Instance)!;
            Assert.Equal(InternalKey.Timestamp(first), ts);
            Assert.Equal(InternalKey.Kind(first), kind);
            Assert.Equal(winner.Value, value.ToArray());
        }
        Assert.Equal(c.Ops.Length, m.EntryCount);
    }

    private static void AssertYields(List<Entry> expected, MemtableIterator it, int limit)
    {
        var n = 0;
        for (; it.Valid && n < limit; it.Next(), n++)
        {
            Assert.True(n < expected.Count, $"entry {n} past the model's {expected.Count}: {Convert.ToHexString(it.Key)}");
            Assert.Equal(Convert.ToHexString(expected[n].InternalKey), Convert.ToHexString(it.Key));
            Assert.Equal(expected[n].Value, it.Value.ToArray());
            Assert.Equal(expected[n].Sequence, it.Sequence);
        }
        Assert.Equal(Math.Min(limit, expected.Count), n);
    }

    [Fact]
    public void Iterator_KeysOnlyInFirstAndLastPartitions_CrossesTheEmptyOnesInOrder()
    {
        var m = new SkipListMemtable(64 * 1024, partitions: SkipListMemtable.MaxPartitions);
        byte[][] keys = [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1], [0xFF, 0xF0], [], [0], [0x00, 0x0F, 0xFF], [0x80]];
        for (var i = 0; i < keys.Length; i++) m.Add(keys[i], 1, EntryKind.Value, [(byte)i], i + 1);
        var expected = keys.OrderBy(k => k, ValueOrder.Instance).Select(Convert.ToHexString).ToList();
        var seen = new List<string>();
        using var it = m.NewIterator();
        for (it.SeekToFirst(); it.Valid; it.Next()) seen.Add(Convert.ToHexString(InternalKey.UserKey(it.Key)));
        Assert.Equal(expected, seen);
        // a seek into an empty partition lands on the next non-empty one; past the last key, nothing
        it.Seek(SeekKey([0x10]));
        Assert.Equal("80", Convert.ToHexString(InternalKey.UserKey(it.Key)));
        it.Seek(SeekKey([0x80, 0]));
        Assert.Equal("FFF0", Convert.ToHexString(InternalKey.UserKey(it.Key)));
        it.Seek(SeekKey([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2]));
        Assert.False(it.Valid);
    }

    [Fact]
    public void Constructor_ExpectedBytes_OnePartitionPerKiBCappedAt65536()
    {
        Assert.Equal(65536, SkipListMemtable.MaxPartitions);
        Assert.Equal(65536, new SkipListMemtable(64 * 1024, expectedBytes: 64L << 20).PartitionCount);
        Assert.Equal(65536, new SkipListMemtable(64 * 1024, expectedBytes: 1L << 32).PartitionCount);
        Assert.Equal(32, new SkipListMemtable(64 * 1024, expectedBytes: 48 * 1024).PartitionCount);
        Assert.Equal(1, new SkipListMemtable(64 * 1024, expectedBytes: 1).PartitionCount);
        Assert.Equal(512, new SkipListMemtable(64 * 1024).PartitionCount); // eight chunks: 512 KiB
        var small = new SkipListMemtable(64 * 1024, expectedBytes: 1);
        var large = new SkipListMemtable(64 * 1024, expectedBytes: 1, partitions: 4096);
        // one full 12-level head tower against 4096 towers of 4 dense levels plus a reference each to a tall part
        // and a bit each saying which have one
        var expected = (4096L * 4 * 8) + (4096L * 8) + (64 * 8) - (SkipListMemtable.MaxHeight * 8) + ((64 - 1) * 8);
        Assert.Equal(expected, large.ReservedBytes - small.ReservedBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SkipListMemtable(64 * 1024, partitions: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SkipListMemtable(64 * 1024, partitions: 131072));
    }

    [Fact]
    public void OnePartitionHoldingEveryKey_GrowsTallHeadTowers_StaysSortedAndFindsEveryKey()
    {
        // Decimal keys share their first 8 bytes, so all 20000 fall into one of the 65536 partitions: that list needs
        // levels above the 4 dense head levels (a search that ignored them would still be correct, only slow, so this
        // also checks the order, seeks and gets through the tall part).
        var m = new SkipListMemtable(64 * 1024, partitions: SkipListMemtable.MaxPartitions);
        var random = new Random(5);
        var keys = Enumerable.Range(0, 20000).Select(i => i * 7).OrderBy(_ => random.Next()).ToArray();
        for (var i = 0; i < keys.Length; i++)
            m.Add(System.Text.Encoding.ASCII.GetBytes(keys[i].ToString("D12")), 1, EntryKind.Value, [(byte)i], i + 1);
        using var it = m.NewIterator();
        var previous = -1;
        var count = 0;
        for (it.SeekToFirst(); it.Valid; it.Next(), count++)
        {
            var k = int.Parse(System.Text.Encoding.ASCII.GetString(InternalKey.UserKey(it.Key)));
            Assert.True(k > previous);
            previous = k;
        }
        Assert.Equal(keys.Length, count);
        foreach (var probe in new[] { 0, 7, 13, 69993, 70000, 139993 })
        {
            it.Seek(SeekKey(System.Text.Encoding.ASCII.GetBytes(probe.ToString("D12"))));
            var expected = (probe + 6) / 7 * 7;
            if (expected > 139993) Assert.False(it.Valid);
            else Assert.Equal(expected.ToString("D12"), System.Text.Encoding.ASCII.GetString(InternalKey.UserKey(it.Key)));
            Assert.Equal(probe % 7 == 0 && probe <= 139993, m.TryGetNewest(System.Text.Encoding.ASCII.GetBytes(probe.ToString("D12")), out _, out _, out _));
        }
    }

    [Fact]
    public void ConcurrentReaders_WhileWriterInsertsAcrossPartitions_SeeSortedSequenceWithEveryAcknowledgedEntry()
    {
        // Token-prefixed keys spread over 64 partitions, plus keys at both ends. Each reader notes how many inserts
        // had returned before it starts a scan; the scan must be sorted, untorn, and hold every one of those.
        const int total = 30000;
        var m = new SkipListMemtable(64 * 1024, partitions: 64);
        var keys = new byte[total][];
        var rng = new Random(11);
        for (var i = 0; i < total; i++)
        {
            keys[i] = new byte[12];
            rng.NextBytes(keys[i].AsSpan(0, 8));
            if (i % 97 == 0) keys[i][0] = 0x00;
            if (i % 89 == 0) keys[i][0] = 0xFF;
            BinaryPrimitives.WriteInt32BigEndian(keys[i].AsSpan(8), i); // distinct keys; the entry number is in the key
        }
        var acknowledged = 0;
        var done = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var scans = new int[2];
        var readers = new Thread[2];
        for (var r = 0; r < readers.Length; r++)
        {
            var reader = r;
            readers[r] = new Thread(() =>
            {
                var seen = new bool[total];
                var rng = new Random(reader);
                var last = false;
                while (!last)
                {
                    last = Volatile.Read(ref done) == 1; // one complete scan after the writer finished
                    var floor = Volatile.Read(ref acknowledged);
                    Array.Clear(seen);
                    using var it = m.NewIterator();
                    byte[]? previous = null;
                    for (it.SeekToFirst(); it.Valid; it.Next())
                    {
                        var key = it.Key.ToArray();
                        var userKey = InternalKey.UserKey(key);
                        if (!it.Value.SequenceEqual(userKey)) failures.Enqueue("torn entry " + Convert.ToHexString(key));
                        if (previous is not null && InternalKey.Compare(previous, key) >= 0) failures.Enqueue("out of order at " + Convert.ToHexString(key));
                        seen[BinaryPrimitives.ReadInt32BigEndian(userKey[8..])] = true;
                        previous = key;
                    }
                    for (var i = 0; i < floor; i++)
                        if (!seen[i]) { failures.Enqueue($"scan after {floor} acknowledged inserts missed entry {i}"); break; }
                    if (floor > 0)
                    {
                        // and a seek finds an acknowledged key
                        var probe = keys[rng.Next(floor)];
                        it.SeekUserKey(probe);
                        if (!it.Valid || !InternalKey.UserKey(it.Key).SequenceEqual(probe)) failures.Enqueue("seek missed " + Convert.ToHexString(probe));
                    }
                    scans[reader]++;
                }
            });
            readers[r].Start();
        }
        for (var i = 0; i < total; i++)
        {
            m.Add(keys[i], 1, EntryKind.Value, keys[i], i + 1);
            Volatile.Write(ref acknowledged, i + 1);
        }
        Volatile.Write(ref done, 1);
        foreach (var t in readers) t.Join();
        Assert.Empty(failures);
        Assert.All(scans, s => Assert.True(s > 0));
    }

    private static byte[] Internal(byte[] userKey, long ts, EntryKind kind)
    {
        var key = new byte[InternalKey.EncodedLength(userKey.Length)];
        InternalKey.Write(key, userKey, ts, kind);
        return key;
    }

    private static byte[] SeekKey(byte[] userKey)
    {
        var key = new byte[InternalKey.EncodedLength(userKey.Length)];
        InternalKey.WriteSeekKey(key, userKey);
        return key;
    }

    private sealed class InternalKeyOrder : IComparer<byte[]>
    {
        public static readonly InternalKeyOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => InternalKey.Compare(x, y);
    }

    private sealed class ValueOrder : IComparer<byte[]>
    {
        public static readonly ValueOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
