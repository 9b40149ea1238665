using Kv.Engine.Cache;

namespace Kv.Engine.Tests.Sstable;

public class BlockCacheTests
{
    private static byte[] Block(int size, byte fill)
    {
        var b = new byte[size];
        Array.Fill(b, fill);
        return b;
    }

    [Fact]
    public void Insert_BeyondCapacity_UsageStaysWithinBound()
    {
        var cache = new BlockCache(100_000, 4);
        for (var i = 0; i < 1000; i++)
        {
            cache.Insert(1, i * 4096L, Block(4000, (byte)i));
            Assert.InRange(cache.Usage, 0, cache.Capacity);
        }
        Assert.True(cache.Count > 0);
        Assert.True(cache.Count <= 100_000 / (4000 + BlockCache.EntryOverhead));
    }

    private const int SmallBlockCharge = 1000 + BlockCache.EntryOverhead;

    /// <summary>One shard with room for exactly three 1000-byte blocks, holding blocks 0, 1, 2 (inserted in that order).</summary>
    private static BlockCache FullCacheOfThree()
    {
        var cache = new BlockCache(3 * SmallBlockCharge, shardCount: 1);
        for (var i = 0; i < 3; i++) cache.Insert(1, i, Block(1000, (byte)i));
        return cache;
    }

    [Fact]
    public void Insert_ShardFull_EvictsAnUnreadBlockBeforeARecentlyReadOne()
    {
        var charge = SmallBlockCharge;
        var cache = FullCacheOfThree();
        Assert.True(cache.TryGet(1, 0, out _)); // 0, the oldest, was read; 1 is the oldest unread
        cache.Insert(1, 3, Block(1000, 3));

        Assert.False(cache.TryGet(1, 1, out _));
        Assert.True(cache.TryGet(1, 0, out var b0));
        Assert.Equal(0, b0[0]);
        Assert.True(cache.TryGet(1, 2, out _));
        Assert.True(cache.TryGet(1, 3, out var b3));
        Assert.Equal(3, b3[0]);
        Assert.Equal(3 * charge, cache.Usage);
    }

    [Fact]
    public void Insert_ShardFull_AReadSparesABlockForOneRoundOnly()
    {
        var cache = FullCacheOfThree();
        Assert.True(cache.TryGet(1, 0, out _));
        cache.Insert(1, 3, Block(1000, 3)); // 0 was read: spared (its mark spent), 1 goes
        Assert.False(cache.TryGet(1, 1, out _));
        cache.Insert(1, 4, Block(1000, 4)); // 2 goes
        Assert.False(cache.TryGet(1, 2, out _));
        cache.Insert(1, 5, Block(1000, 5)); // 0 not read again since: it goes, and the newer 3 and 4 stay
        Assert.False(cache.TryGet(1, 0, out _));
        Assert.True(cache.TryGet(1, 3, out _));
        Assert.True(cache.TryGet(1, 4, out _));
        Assert.True(cache.TryGet(1, 5, out _));
    }

    [Fact]
    public void Insert_StreamWithoutReads_KeepsTheNewestBlocks()
    {
        var cache = FullCacheOfThree();
        // Block 0 read: the first eviction passes it (spending its mark) and takes 1, which leaves the clock hand in
        // the middle of the ring, where a new entry placed ahead of it would be the next to go.
        Assert.True(cache.TryGet(1, 0, out _));
        for (var i = 3; i < 20; i++) cache.Insert(1, i, Block(1000, (byte)i));
        for (var i = 0; i < 17; i++) Assert.False(cache.TryGet(1, i, out _), "block " + i);
        for (var i = 17; i < 20; i++) Assert.True(cache.TryGet(1, i, out _), "block " + i);
    }

    [Fact]
    public void TryGet_KeysDifferByFileOrOffset_AreDistinct()
    {
        var cache = new BlockCache(1 << 20);
        cache.Insert(1, 0, Block(10, 1));
        cache.Insert(2, 0, Block(10, 2));
        cache.Insert(1, 10, Block(10, 3));
        Assert.True(cache.TryGet(2, 0, out var b));
        Assert.Equal(2, b[0]);
        Assert.False(cache.TryGet(3, 0, out _));
        Assert.Equal(1, cache.Hits);
        Assert.Equal(1, cache.Misses);
    }

    [Fact]
    public void Insert_BlockLargerThanShard_IsNotCached()
    {
        var cache = new BlockCache(10_000, 4);
        cache.Insert(1, 0, Block(5000, 1));
        Assert.False(cache.TryGet(1, 0, out _));
        Assert.Equal(0, cache.Usage);
    }

    [Fact]
    public void Insert_SameKeyTwice_ReplacesAndChargesOnce()
    {
        var cache = new BlockCache(1 << 20, 1);
        cache.Insert(1, 0, Block(100, 1));
        cache.Insert(1, 0, Block(200, 2));
        Assert.True(cache.TryGet(1, 0, out var b));
        Assert.Equal(200, b.Length);
        Assert.Equal(200 + BlockCache.EntryOverhead, cache.Usage);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void EvictFile_DropsOnlyThatFilesBlocks()
    {
        var cache = new BlockCache(1 << 20);
        for (var i = 0; i < 50; i++) { cache.Insert(1, i, Block(10, 1)); cache.Insert(2, i, Block(10, 2)); }
        cache.EvictFile(1);
        Assert.Equal(50, cache.Count);
        Assert.False(cache.TryGet(1, 7, out _));
        Assert.True(cache.TryGet(2, 7, out _));
        Assert.Equal(50 * (10 + BlockCache.EntryOverhead), cache.Usage);
    }

    [Fact]
    public void TryGetInsert_ConcurrentThreads_ReturnRightBlocksAndRespectBound()
    {
        var cache = new BlockCache(200_000, 8);
        var wrong = 0;
        Parallel.For(0, 4, t =>
        {
            var random = new Random(t);
            for (var n = 0; n < 50_000; n++)
            {
                var file = (ulong)random.Next(1, 4);
                var offset = random.Next(0, 300) * 4096L;
                if (cache.TryGet(file, offset, out var block))
                {
                    if (block.Length != 1000 || BitConverter.ToUInt64(block) != file || BitConverter.ToInt64(block, 8) != offset) Interlocked.Increment(ref wrong);
                }
                else
                {
                    var b = new byte[1000];
                    BitConverter.TryWriteBytes(b, file);
                    BitConverter.TryWriteBytes(b.AsSpan(8), offset);
                    cache.Insert(file, offset, b);
                }
                if (cache.Usage > cache.Capacity) Interlocked.Increment(ref wrong);
            }
        });
        Assert.Equal(0, wrong);
        Assert.Equal(4 * 50_000, cache.Hits + cache.Misses);
        Assert.InRange(cache.Usage, 1, cache.Capacity);
        Assert.Equal(cache.Count * (1000L + BlockCache.EntryOverhead), cache.Usage);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Operations_WithRoomForEverything_MatchADictionary(int seed)
    {
        // Room for every block, so nothing is evicted and the cache must behave exactly as a map: this drives the
        // index through growth, deletions in the middle of probe runs (EvictFile, replacements) and shrinking.
        var cache = new BlockCache(64L << 20, shardCount: 2);
        var model = new Dictionary<(ulong File, long Offset), byte[]>();
        var random = new Random(seed);
        for (var op = 0; op < 20_000; op++)
        {
            var file = (ulong)random.Next(1, 6);
            var offset = random.Next(0, 400) * 4096L;
            switch (random.Next(10))
            {
                case < 5:
                    var block = new byte[random.Next(1, 64)];
                    random.NextBytes(block);
                    cache.Insert(file, offset, block);
                    model[(file, offset)] = block;
                    break;
                case < 9:
                    var hit = cache.TryGet(file, offset, out var got);
                    Assert.Equal(model.TryGetValue((file, offset), out var expected), hit);
                    if (hit) Assert.Same(expected, got);
                    break;
                default:
                    if (random.Next(20) == 0)
                    {
                        cache.EvictFile(file);
                        foreach (var key in model.Keys.Where(k => k.File == file).ToList()) model.Remove(key);
                    }
                    break;
            }
        }
        Assert.Equal(model.Count, cache.Count);
        Assert.Equal(model.Values.Sum(b => (long)b.Length + BlockCache.EntryOverhead), cache.Usage);
        foreach (var ((file, offset), block) in model)
        {
            Assert.True(cache.TryGet(file, offset, out var got));
            Assert.Same(block, got);
        }
    }

    [Fact]
    public void TryGet_WhileAWriterInsertsAndEvicts_NeverReturnsAnotherKeysBlock()
    {
        // Readers take no lock: they must never see a block under the wrong key while the writer moves entries
        // (backward-shift deletion) and replaces the index (growing and shrinking).
        var cache = new BlockCache(64L << 20, shardCount: 1);
        using var stop = new CancellationTokenSource();
        var wrong = 0;
        long hits = 0;
        var writer = Task.Run(() =>
        {
            var random = new Random(7);
            for (var round = 0; round < 40000; round++)
            {
                var file = (ulong)(round % 3) + 1;
                for (var i = 0; i < 300; i++)
                {
                    // Few keys, so most inserts replace a block: a deletion (entries shifted back) and an addition.
                    var offset = random.Next(0, 128) * 4096L;
                    cache.Insert(file, offset, Tagged(file, offset));
                }
                cache.EvictFile((ulong)((round + 1) % 3) + 1);
            }
            stop.Cancel();
        });
        var readers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            while (!stop.IsCancellationRequested)
            {
                var file = (ulong)random.Next(1, 4);
                var offset = random.Next(0, 128) * 4096L;
                if (!cache.TryGet(file, offset, out var block)) continue;
                Interlocked.Increment(ref hits);
                if (BitConverter.ToUInt64(block) != file || BitConverter.ToInt64(block, 8) != offset) Interlocked.Increment(ref wrong);
            }
        })).ToArray();
        Task.WaitAll([writer, .. readers]);
        Assert.Equal(0, wrong);
        Assert.True(hits > 0);
    }

    private static byte[] Tagged(ulong file, long offset)
    {
        var b = new byte[16];
        BitConverter.TryWriteBytes(b, file);
        BitConverter.TryWriteBytes(b.AsSpan(8), offset);
        return b;
    }
}
