using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Tests.IO;

namespace Kv.Engine.Tests.Db;

/// <summary>With <see cref="EngineOptions.MaxOpenTables"/> the database reaches its tables through the bounded table
/// cache: the number of open table files stays at the limit while reads, compactions and reopens go on correctly.</summary>
public class MaxOpenTablesTests
{
    private const int Limit = 4;

    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"key-{i:D6}");

    private static byte[] Value(int i, int round) => Encoding.UTF8.GetBytes($"value-{i}-r{round}");

    private static EngineOptions Options(IFileSystem fs, bool autoCompaction) => new()
    {
        FileSystem = fs,
        MemtableSizeBytes = 4 * 1024,
        BlockSize = 512,
        BlockCacheBytes = 0,
        MaxOpenTables = Limit,
        DisableAutoCompaction = !autoCompaction,
        Level0CompactionTrigger = 2,
        LevelBaseBytes = 16 * 1024,
        TargetFileSizeBytes = 4 * 1024,
    };

    [Fact]
    public void Get_ManyMoreTablesThanTheLimit_OpenTableFilesStayWithinIt()
    {
        var fs = new OpenFileCountingFileSystem(new InMemoryFileSystem());
        using var db = Database.Open("/db", Options(fs, autoCompaction: false));
        for (var i = 0; i < 3000; i++) db.Put(Key(i), Value(i, 0), 1);
        db.Flush();
        var tables = db.LiveTableNumbers().Count;
        Assert.True(tables > 4 * Limit, $"only {tables} tables");
        Assert.True(db.GetStats().OpenTables <= Limit);

        fs.ResetPeak();
        for (var i = 0; i < 3000; i += 7) Assert.Equal(Value(i, 0), db.Get(Key(i)).Value);
        Assert.InRange(fs.PeakOpenTables, 1, Limit);
        var stats = db.GetStats();
        Assert.InRange(stats.OpenTables, 1, Limit);
        Assert.True(stats.TableCacheMisses > tables, $"{stats.TableCacheMisses} misses: tables were reopened as they were evicted");

        // a scan keeps every table it merges open until disposed, then the cache shrinks back
        var count = 0;
        using (var scan = db.Scan(default, default))
        {
            while (scan.MoveNext()) count++;
            Assert.Equal(tables, fs.OpenTables);
        }
        Assert.Equal(3000, count);
        Assert.InRange(fs.OpenTables, 0, Limit);
    }

    [Fact]
    public void WritesWithCompactions_LimitedCache_DataCorrectAcrossReopenAndNoFileLeftOpen()
    {
        var inner = new InMemoryFileSystem();
        var fs = new OpenFileCountingFileSystem(inner);
        var options = Options(fs, autoCompaction: true);
        using (var db = Database.Open("/db", options))
        {
            for (var round = 0; round < 3; round++)
            {
                for (var i = 0; i < 1500; i++) db.Put(Key(i), Value(i, round), round + 1);
            }
            db.Flush();
            db.CompactUntilIdle();
            Assert.True(db.GetStats().CompactionCount > 0);
            fs.ResetPeak();
            for (var i = 0; i < 1500; i += 3) Assert.Equal(Value(i, 2), db.Get(Key(i)).Value);
            Assert.InRange(fs.PeakOpenTables, 1, Limit);
            Assert.True(db.Scrub().IsClean);
        }
        Assert.Equal(0, fs.OpenTables); // every reader closed, including those of compacted-away tables

        using (var db = Database.Open("/db", options))
        {
            for (var i = 0; i < 1500; i++) Assert.Equal(Value(i, 2), db.Get(Key(i)).Value);
            var onDisk = inner.ListFiles("/db").Count(n => FileNames.TryParse(n, out var t, out _) && t == FileType.Table);
            Assert.Equal(db.LiveTableNumbers().Count, onDisk);
        }
        Assert.Equal(0, fs.OpenTables);
    }

    [Fact]
    public void Open_NegativeMaxOpenTables_ClearError()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Database.Open("/db", new EngineOptions { FileSystem = new InMemoryFileSystem(), MaxOpenTables = -1 }));
        Assert.Contains("open table limit", e.Message);
    }

    /// <summary>Counts the table files (*.sst) open for reading right now, and the peak. Thread-safe.</summary>
    private sealed class OpenFileCountingFileSystem(IFileSystem inner) : ForwardingFileSystem(inner)
    {
        private int _open, _peak;

        public int OpenTables => Volatile.Read(ref _open);
        public int PeakOpenTables => Volatile.Read(ref _peak);

        public void ResetPeak() => Volatile.Write(ref _peak, Volatile.Read(ref _open));


        public override IRandomAccessFile OpenRandomAccess(string path)
        {
            var file = Inner.OpenRandomAccess(path);
            if (!path.EndsWith(".sst", StringComparison.Ordinal)) return file;
            var now = Interlocked.Increment(ref _open);
            int peak;
            while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
            return new Counted(this, file);
        }

        private sealed class Counted(OpenFileCountingFileSystem fs, IRandomAccessFile file) : IRandomAccessFile
        {
            private int _disposed;

            public string Path => file.Path;
            public long Length => file.Length;
            public int Read(long offset, Span<byte> destination) => file.Read(offset, destination);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref fs._open);
                file.Dispose();
            }
        }
    }
}
