using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Sstable;

namespace Kv.Engine.Tests.Db;

/// <summary>
/// Damaged files seen through the Database: every case must end in a <see cref="CorruptionException"/> that names
/// the damaged file (and an offset), or — for a torn WAL tail only — in the intact prefix being recovered. Never a
/// wrong value, never a silent loss of flushed data.
/// </summary>
public class DatabaseCorruptionTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static EngineOptions Mem(InMemoryFileSystem fs) => new() { FileSystem = fs, MemtableSizeBytes = 64 * 1024, BlockCacheBytes = 0 };

    /// <summary>Two flushed tables and an unflushed tail in the WAL.</summary>
    private static InMemoryFileSystem Populated()
    {
        var fs = new InMemoryFileSystem();
        using var db = Database.Open("/db", Mem(fs));
        for (var i = 0; i < 100; i++) db.Put(B($"key{i:D3}"), B($"value-{i}"), 1);
        db.Flush();
        for (var i = 100; i < 200; i++) db.Put(B($"key{i:D3}"), B($"value-{i}"), 1);
        db.Flush();
        for (var i = 200; i < 250; i++) db.Put(B($"key{i:D3}"), B($"value-{i}"), 1);
        return fs;
    }

    private static string Only(InMemoryFileSystem fs, string suffix) => "/db/" + fs.ListFiles("/db").First(n => n.EndsWith(suffix, StringComparison.Ordinal));

    private static string Manifest(InMemoryFileSystem fs) => "/db/" + fs.ListFiles("/db").Single(n => n.StartsWith("MANIFEST-", StringComparison.Ordinal));

    [Fact]
    public void Open_ManifestRecordBitFlipped_FailsNamingTheManifest()
    {
        var fs = Populated();
        var manifest = Manifest(fs);
        fs.CorruptByte(manifest, 10); // inside the first record (the snapshot), followed by valid records
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Equal(manifest, e.FilePath);
        Assert.Contains("MANIFEST-", e.Message);
    }

    [Fact]
    public void Open_ManifestTruncatedToNothing_FailsNamingTheManifest()
    {
        var fs = Populated();
        var manifest = Manifest(fs);
        fs.Truncate(manifest, 0);
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Equal(manifest, e.FilePath);
    }

    [Fact]
    public void Open_CurrentMissingButTablesPresent_FailsInsteadOfStartingEmpty()
    {
        var fs = Populated();
        fs.DeleteFile("/db/CURRENT");
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Contains("CURRENT", e.FilePath);
        // nothing was deleted: the tables are still there for whoever repairs CURRENT
        Assert.Equal(2, fs.ListFiles("/db").Count(n => n.EndsWith(".sst", StringComparison.Ordinal)));
    }

    [Fact]
    public void Open_TableTruncated_FailsNamingTheTable()
    {
        var fs = Populated();
        var table = Only(fs, ".sst");
        fs.Truncate(table, fs.GetFileLength(table) - 7);
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Equal(table, e.FilePath);
    }

    [Fact]
    public void Open_TableFooterBitFlipped_FailsNamingTheTableAndFooterOffset()
    {
        var fs = Populated();
        var table = Only(fs, ".sst");
        var length = fs.GetFileLength(table);
        fs.CorruptByte(table, length - 20); // inside the footer
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Equal(table, e.FilePath);
        Assert.Equal(length - Footer.Length, e.Offset);
    }

    [Fact]
    public void Open_TableIndexBitFlipped_FailsNamingTheTable()
    {
        var fs = Populated();
        var table = Only(fs, ".sst");
        fs.CorruptByte(table, fs.GetFileLength(table) - Footer.Length - 8); // the index block sits before the footer
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Equal(table, e.FilePath);
    }

    [Fact]
    public void Get_DataBlockBitFlipped_ThrowsForThatBlockAndOtherTablesStillAnswer()
    {
        var fs = Populated();
        var tables = fs.ListFiles("/db").Where(n => n.EndsWith(".sst", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var first = "/db/" + tables[0]; // keys 000..099
        fs.CorruptByte(first, 30);
        using var db = Database.Open("/db", Mem(fs));
        var e = Assert.Throws<CorruptionException>(() => db.Get(B("key000")));
        Assert.Equal(first, e.FilePath);
        Assert.Equal(B("value-150"), db.Get(B("key150")).Value);
        Assert.Equal(B("value-220"), db.Get(B("key220")).Value);
    }

    [Fact]
    public void Open_WalTornTail_RecoversEveryCompleteRecord()
    {
        var fs = new InMemoryFileSystem();
        using (var db = Database.Open("/db", Mem(fs)))
        {
            for (var i = 0; i < 50; i++) db.Put(B($"key{i:D3}"), B($"value-{i}"), 1);
        }
        var log = Only(fs, ".log");
        fs.Truncate(log, fs.GetFileLength(log) - 3); // the crash cut the last record
        using var reopened = Database.Open("/db", Mem(fs));
        for (var i = 0; i < 49; i++) Assert.Equal(B($"value-{i}"), reopened.Get(B($"key{i:D3}")).Value);
        Assert.Equal(ReadStatus.Absent, reopened.Get(B("key049")).Status);
    }

    [Fact]
    public void Open_AfterFailedOpen_LeavesFilesForRepair()
    {
        var fs = Populated();
        var manifest = Manifest(fs);
        var before = fs.ListFiles("/db").Where(n => n.EndsWith(".sst", StringComparison.Ordinal) || n.EndsWith(".log", StringComparison.Ordinal)).ToArray();
        fs.CorruptByte(manifest, 10);
        Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        foreach (var name in before) Assert.True(fs.FileExists("/db/" + name), $"{name} was deleted by a failed open");
    }
}
