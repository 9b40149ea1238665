using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Sstable;
using Kv.Engine.Tests.IO;

namespace Kv.Engine.Tests.Db;

/// <summary>Scrub: every checksum of every live file verified online; damage reported by file and offset while the
/// store keeps serving what is intact.</summary>
public class ScrubTests
{
    private const int Keys = 2000;

    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"key-{i:D6}");

    private static byte[] Value(int i) => Encoding.UTF8.GetBytes($"value-{i}-{new string('v', i % 40)}");

    private static EngineOptions Options(IFileSystem fs) => new()
    {
        FileSystem = fs,
        MemtableSizeBytes = 16 * 1024,
        BlockSize = 512,
        BlockCacheBytes = 0, // every read goes to the file
        DisableAutoCompaction = true,
        UseDirectIO = false,
    };

    private static Database Fill(IFileSystem fs, string dir)
    {
        var db = Database.Open(dir, Options(fs));
        for (var i = 0; i < Keys; i++) db.Put(Key(i), Value(i), i + 1);
        db.Flush();
        return db;
    }

    private static List<string> TablePaths(IFileSystem fs, string dir) =>
        [.. fs.ListFiles(dir).Where(n => FileNames.TryParse(n, out var t, out _) && t == FileType.Table).Order().Select(n => Path.Combine(dir, n))];

    private static Footer ReadFooter(IFileSystem fs, string path)
    {
        using var file = fs.OpenRandomAccess(path);
        var bytes = new byte[Footer.Length];
        file.Read(file.Length - Footer.Length, bytes);
        return Footer.Decode(bytes, path, file.Length - Footer.Length);
    }

    private static void FlipByte(IFileSystem fs, string path, long offset)
    {
        if (fs is InMemoryFileSystem memory)
        {
            memory.CorruptByte(path, offset, 0x10);
            return;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        stream.Position = offset;
        var b = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(b ^ 0x10));
    }

    [Fact]
    public void Scrub_IntactStore_CleanReportCoveringEveryTableAndTheManifest()
    {
        var fs = new InMemoryFileSystem();
        using var db = Fill(fs, "/db");
        var tables = TablePaths(fs, "/db");
        Assert.True(tables.Count >= 3, $"only {tables.Count} tables");
        var progress = new List<ScrubProgress>();

        var report = db.Scrub(progress.Add);

        Assert.True(report.IsClean, string.Join("; ", report.Errors.Select(e => e.Message)));
        Assert.Equal(tables.Count, report.TablesChecked);
        long tableBytes = tables.Sum(fs.GetFileLength);
        var manifestBytes = fs.GetFileLength(report.ManifestPath);
        Assert.Equal(tableBytes + manifestBytes, report.BytesChecked); // every byte of every table and the manifest
        Assert.True(report.BlocksChecked > tables.Count * 5);
        Assert.Equal(tables.Count, progress.Count);
        Assert.Equal(Enumerable.Range(1, tables.Count), progress.Select(p => p.TablesDone));
        Assert.Equal(tables.Order(), progress.Select(p => p.LastFile).Order());
    }

    [Fact]
    public void Scrub_WithCompactionRateLimit_PaysForEveryTableByteIntoTheSameBucket()
    {
        var fs = new InMemoryFileSystem();
        // A bucket far larger than the store: the scrub never waits, so the test measures what it paid, not time.
        var options = Options(fs);
        options.CompactionRateLimitBytesPerSecond = 1L << 30;
        using var db = Database.Open("/db", options);
        for (var i = 0; i < 5 * Keys; i++) db.Put(Key(i), Value(i), i + 1);
        db.Flush();
        var limiter = db.CompactionRateLimiter;
        Assert.NotNull(limiter);
        long tableBytes = TablePaths(fs, "/db").Sum(fs.GetFileLength);
        Assert.True(tableBytes > 64 * 1024, $"only {tableBytes} table bytes: the per-64-KiB payments are not exercised");
        var before = limiter.TotalBytes;

        var report = db.Scrub();

        Assert.True(report.IsClean);
        Assert.Equal(tableBytes, limiter.TotalBytes - before); // every table byte read is paid for; the manifest is not
    }

    [Fact]
    public void GetStats_AfterScrubOfDamagedStore_LastScrubHoldsThatReport()
    {
        var fs = new InMemoryFileSystem();
        using var db = Fill(fs, "/db");
        Assert.Null(db.GetStats().LastScrub);
        Assert.True(db.Scrub().IsClean);
        FlipByte(fs, TablePaths(fs, "/db")[0], 10);

        var report = db.Scrub();

        var last = db.GetStats().LastScrub;
        Assert.Same(report, last);
        Assert.False(last!.IsClean);
        Assert.NotEqual(default, last.CompletedAt);
    }

    [Fact]
    public void Scrub_WithoutRateLimit_HasNoBucket()
    {
        var fs = new InMemoryFileSystem();
        using var db = Fill(fs, "/db");
        Assert.Null(db.CompactionRateLimiter);
        Assert.True(db.Scrub().IsClean);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Scrub_BitFlipsInDataFooterAndIndex_ReportsEachByFileAndOffset_IntactDataStillReads(bool localFileSystem)
    {
        using var temp = localFileSystem ? new TestDirectory() : null;
        IFileSystem fs = localFileSystem ? LocalFileSystem.Instance : new InMemoryFileSystem();
        var dir = temp?.Path ?? "/db";
        using var db = Fill(fs, dir);
        var tables = TablePaths(fs, dir);
        Assert.True(tables.Count >= 3);
        var (dataVictim, footerVictim, indexVictim) = (tables[0], tables[1], tables[2]);
        var indexOffset = ReadFooter(fs, indexVictim).Index.Offset;
        var footerOffset = fs.GetFileLength(footerVictim) - Footer.Length;
        FlipByte(fs, dataVictim, 10);                  // inside the first data block (offset 0)
        FlipByte(fs, footerVictim, footerOffset + 2);   // a block handle in the footer
        FlipByte(fs, indexVictim, indexOffset + 3);     // the index block

        var report = db.Scrub();

        Assert.Equal(3, report.Errors.Count);
        Assert.Contains(report.Errors, e => e.FilePath == dataVictim && e.Offset == 0 && e.Message.Contains("checksum"));
        Assert.Contains(report.Errors, e => e.FilePath == footerVictim && e.Offset == footerOffset);
        Assert.Contains(report.Errors, e => e.FilePath == indexVictim && e.Offset == indexOffset);
        Assert.Equal(tables.Count, report.TablesChecked);

        // The store stays up: every key outside the damaged data block reads back, those inside fail loudly.
        var failed = 0;
        for (var i = 0; i < Keys; i++)
        {
            try
            {
                Assert.Equal(Value(i), db.Get(Key(i)).Value);
            }
            catch (CorruptionException e)
            {
                Assert.Equal(dataVictim, e.FilePath);
                Assert.Equal(0, e.Offset);
                failed++;
            }
        }
        Assert.InRange(failed, 1, 40); // one 512-byte block's worth of keys
        db.Put(Key(Keys), Value(Keys), Keys + 1);
        Assert.Equal(Value(Keys), db.Get(Key(Keys)).Value);
        Assert.Equal(3, db.Scrub().Errors.Count); // the same damage, found again
    }

    [Fact]
    public void Scrub_BitFlipInManifest_ReportsTheManifest()
    {
        var fs = new InMemoryFileSystem();
        using var db = Fill(fs, "/db");
        var manifest = db.Scrub().ManifestPath;
        FlipByte(fs, manifest, 12);

        var report = db.Scrub();

        var error = Assert.Single(report.Errors);
        Assert.Equal(manifest, error.FilePath);
        Assert.InRange(error.Offset, 0, 12); // the record holding byte 12
        Assert.Contains("checksum mismatch", error.Message);
        Assert.Equal(Value(7), db.Get(Key(7)).Value);
    }

    [Fact]
    public void Scrub_WhileWritesAndCompactionsRun_CleanAndNothingDeletedUnderIt()
    {
        var fs = new InMemoryFileSystem();
        var options = Options(fs);
        options.DisableAutoCompaction = false;
        options.Level0CompactionTrigger = 2;
        options.LevelBaseBytes = 16 * 1024;
        options.TargetFileSizeBytes = 8 * 1024;
        options.MemtableSizeBytes = 4 * 1024;
        options.SyncMode = Kv.Engine.Wal.WalSyncMode.Periodic;
        using var db = Database.Open("/db", options);
        var stop = false;
        var writer = new Thread(() =>
        {
            for (var i = 0; !Volatile.Read(ref stop); i++) db.Put(Key(i % 3000), Value(i), i + 1);
        });
        writer.Start();
        var reports = new List<ScrubReport>();
        try
        {
            while (reports.Count < 20 || db.GetStats().CompactionCount < 5) reports.Add(db.Scrub());
        }
        finally
        {
            Volatile.Write(ref stop, true);
            writer.Join();
        }
        Assert.All(reports, r => Assert.True(r.IsClean, string.Join("; ", r.Errors.Select(e => e.Message))));
        Assert.Contains(reports, r => r.TablesChecked > 0);
    }
}
