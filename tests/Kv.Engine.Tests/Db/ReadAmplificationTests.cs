using System.Text;
using Kv.Engine.IO;

namespace Kv.Engine.Tests.Db;

/// <summary>Point reads touch as little as they can, and the stats say how much they touched: the Bloom filter is
/// asked before any block is read, and tables whose max timestamp cannot beat the version found are skipped.</summary>
public class ReadAmplificationTests
{
    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"key-{i:D6}");

    private static Database Open(InMemoryFileSystem fs) => Database.Open("/db", new EngineOptions
    {
        FileSystem = fs,
        MemtableSizeBytes = 1 << 20,
        BlockSize = 512,
        DisableAutoCompaction = true,
    });

    [Fact]
    public void Get_KeysAbsentFromOverlappingTables_FilterRulesOutNearlyEveryTableWithoutReadingBlocks()
    {
        using var db = Open(new InMemoryFileSystem());
        const int tables = 5;
        for (var t = 0; t < tables; t++)
        {
            for (var i = 0; i < 2000; i += 2) db.Put(Key(i), "v"u8, t + 1); // even keys: every table covers 0..1998
            db.Flush();
        }
        var before = db.GetStats();
        for (var i = 1; i < 1998; i += 2) Assert.Equal(ReadStatus.Absent, db.Get(Key(i)).Status); // odd keys inside every range: absent
        var after = db.GetStats();

        var reads = after.PointReads - before.PointReads;
        var checks = after.BloomFilterChecks - before.BloomFilterChecks;
        var negatives = after.BloomFilterNegatives - before.BloomFilterNegatives;
        var blocks = after.PointReadBlocks - before.PointReadBlocks;
        var falsePositives = after.BloomFilterFalsePositives - before.BloomFilterFalsePositives;
        Assert.Equal(999, reads);
        Assert.Equal(999 * tables, checks); // every covering table is probed...
        Assert.Equal(checks, negatives + falsePositives);
        Assert.True(blocks <= falsePositives * 2, $"{blocks} blocks read for {falsePositives} filter false positives");
        Assert.True(negatives >= checks * 0.95, $"the filter ruled out only {negatives} of {checks} probes"); // 10 bits/key: ~1% false positives
        Assert.True(after.ReadAmplification < 0.1, $"read amplification {after.ReadAmplification} blocks per read of an absent key");
    }

    [Fact]
    public void Get_NewestVersionInNewestTable_OlderTablesSkippedByMaxTimestamp_OneBlockRead()
    {
        using var db = Open(new InMemoryFileSystem());
        for (var t = 0; t < 5; t++)
        {
            db.Put(Key(1), Encoding.UTF8.GetBytes($"v{t}"), 100 * (t + 1)); // each table newer than the last
            db.Flush();
        }
        var before = db.GetStats();
        var r = db.Get(Key(1));
        var after = db.GetStats();

        Assert.Equal("v4"u8.ToArray(), r.Value);
        Assert.Equal(1, after.PointReadBlocks - before.PointReadBlocks);
        Assert.Equal(1, after.PointReadTablesConsidered - before.PointReadTablesConsidered);
        Assert.Equal(4, after.PointReadTablesSkippedByTimestamp - before.PointReadTablesSkippedByTimestamp);
        Assert.Equal(1, after.BloomFilterChecks - before.BloomFilterChecks);
    }

    [Fact]
    public void Get_NewestVersionInOldestTable_EveryTableRead()
    {
        using var db = Open(new InMemoryFileSystem());
        for (var t = 0; t < 5; t++)
        {
            db.Put(Key(1), Encoding.UTF8.GetBytes($"v{t}"), 1000 - (100 * t)); // late arrivals of older versions
            db.Flush();
        }
        var before = db.GetStats();
        var r = db.Get(Key(1));
        var after = db.GetStats();

        Assert.Equal("v0"u8.ToArray(), r.Value);
        Assert.Equal(5, after.PointReadBlocks - before.PointReadBlocks);
        Assert.Equal(5, after.PointReadTablesConsidered - before.PointReadTablesConsidered);
        Assert.Equal(0, after.PointReadTablesSkippedByTimestamp - before.PointReadTablesSkippedByTimestamp);
    }

    [Fact]
    public void Get_KeyInMemtable_NoTableTouched()
    {
        using var db = Open(new InMemoryFileSystem());
        db.Put(Key(1), "old"u8, 1);
        db.Flush();
        db.Put(Key(1), "new"u8, 2);
        var before = db.GetStats();
        Assert.Equal("new"u8.ToArray(), db.Get(Key(1)).Value);
        var after = db.GetStats();
        Assert.Equal(1, after.PointReads - before.PointReads);
        Assert.Equal(0, after.PointReadBlocks - before.PointReadBlocks);
        Assert.Equal(0, after.BloomFilterChecks - before.BloomFilterChecks);
        Assert.Equal(1, after.PointReadTablesSkippedByTimestamp - before.PointReadTablesSkippedByTimestamp);
    }
}
