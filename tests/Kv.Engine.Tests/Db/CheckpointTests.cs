using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Tests.IO;

namespace Kv.Engine.Tests.Db;

/// <summary>Checkpoints: a checkpoint opened as a store reads exactly the data of its moment, on both file systems,
/// while writers and compactions run; bad targets are refused; tables are copied where links are impossible.</summary>
public class CheckpointTests
{
    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"key-{i:D6}");

    private static byte[] Value(int i, int version) => Encoding.UTF8.GetBytes($"value-{i}-v{version}-{new string('x', i % 50)}");

    private static EngineOptions Small(IFileSystem fs, bool autoCompaction = true) => new()
    {
        FileSystem = fs,
        MemtableSizeBytes = 8 * 1024,
        BlockSize = 512,
        BlockCacheBytes = 256 * 1024,
        Level0CompactionTrigger = 2,
        LevelBaseBytes = 16 * 1024,
        TargetFileSizeBytes = 8 * 1024,
        DisableAutoCompaction = !autoCompaction,
        UseDirectIO = false,
    };

    /// <summary>A database directory on either file system, cleaned up on dispose.</summary>
    private sealed class Store : IDisposable
    {
        private readonly TestDirectory? _local;

        public Store(bool local)
        {
            if (local)
            {
                _local = new TestDirectory();
                FileSystem = LocalFileSystem.Instance;
                Root = _local.Path;
            }
            else
            {
                FileSystem = new InMemoryFileSystem();
                Root = "/data";
                FileSystem.CreateDirectory(Root);
            }
        }

        public IFileSystem FileSystem { get; }
        public string Root { get; }
        public string Db => Path.Combine(Root, "db");
        public string Sub(string name) => Path.Combine(Root, name);

        public void Dispose() => _local?.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CreateCheckpoint_WritesAndDeletesAfterIt_CheckpointReadsExactlyItsMoment(bool localFileSystem)
    {
        using var store = new Store(localFileSystem);
        var options = Small(store.FileSystem);
        var expected = new Dictionary<int, byte[]?>(); // null: deleted
        using (var db = Database.Open(store.Db, options))
        {
            for (var i = 0; i < 1500; i++)
            {
                db.Put(Key(i), Value(i, 1), 100 + i);
                expected[i] = Value(i, 1);
            }
            for (var i = 0; i < 1500; i += 7)
            {
                db.Delete(Key(i), 10_000 + i);
                expected[i] = null;
            }
            for (var i = 1; i < 1500; i += 11)
            {
                if (expected[i] is null) continue;
                db.Put(Key(i), Value(i, 2), 20_000 + i); // the newest versions of these sit in the memtable
                expected[i] = Value(i, 2);
            }

            var result = db.CreateCheckpoint(store.Sub("ckpt"));
            Assert.True(result.TableCount > 0);
            Assert.Equal(result.TableCount, result.LinkedFiles + result.CopiedFiles);
            Assert.Equal(result.TableCount, result.LinkedFiles); // same file system: every table is linked

            // after the checkpoint: overwrite, delete, resurrect, add new keys, and compact the store's tables away
            for (var i = 0; i < 1500; i += 3) db.Put(Key(i), Value(i, 3), 30_000 + i);
            for (var i = 1; i < 1500; i += 5) db.Delete(Key(i), 40_000 + i);
            for (var i = 1500; i < 1800; i++) db.Put(Key(i), Value(i, 3), 30_000 + i);
            db.Flush();
            db.CompactUntilIdle();
        }

        using var checkpoint = Database.Open(store.Sub("ckpt"), options);
        AssertHoldsExactly(checkpoint, expected, 1800);
        checkpoint.Put(Key(5000), Value(5000, 1), 1); // a checkpoint is a writable store of its own
        Assert.Equal(ReadStatus.Found, checkpoint.Get(Key(5000)).Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CreateCheckpoint_WhileWriterAndCompactionsRun_HoldsEveryWriteAcknowledgedBeforeAndNoneStartedAfter(bool localFileSystem)
    {
        using var store = new Store(localFileSystem);
        var options = Small(store.FileSystem);
        options.SyncMode = Kv.Engine.Wal.WalSyncMode.Periodic; // acknowledged = returned from Put; keeps the local run short
        var checkpoints = new List<(string Dir, int AckedBefore, int StartedAfter)>();
        using (var db = Database.Open(store.Db, options))
        {
            var started = -1;
            var acked = -1;
            var stop = false;
            var writer = new Thread(() =>
            {
                for (var i = 0; !Volatile.Read(ref stop); i++)
                {
                    Volatile.Write(ref started, i);
                    db.Put(Key(i % 4000), Value(i, i), i + 1); // keys wrap around: later writes overwrite
                    Volatile.Write(ref acked, i);
                }
            });
            writer.Start();
            try
            {
                for (var c = 0; c < 4; c++)
                {
                    while (Volatile.Read(ref acked) < (c + 1) * 2500) Thread.Sleep(1);
                    var dir = store.Sub($"ckpt{c}");
                    var before = Volatile.Read(ref acked);
                    db.CreateCheckpoint(dir);
                    checkpoints.Add((dir, before, Volatile.Read(ref started)));
                }
            }
            finally
            {
                Volatile.Write(ref stop, true);
                writer.Join();
            }
            Assert.True(db.GetStats().CompactionCount > 0, "no compaction ran while the checkpoints were taken");
        }

        foreach (var (dir, ackedBefore, startedAfter) in checkpoints)
        {
            using var checkpoint = Database.Open(dir, options);
            for (var k = 0; k < 4000; k++)
            {
                // the last write of key k acknowledged before the checkpoint began
                var lastBefore = ackedBefore - ((ackedBefore - k) % 4000 + 4000) % 4000;
                var r = checkpoint.Get(Key(k));
                if (r.Status != ReadStatus.Found)
                {
                    Assert.True(lastBefore < 0, $"{dir}: key {k} is {r.Status}; write {lastBefore} was acknowledged before the checkpoint");
                    continue;
                }
                var i = (int)r.Timestamp - 1;
                Assert.True(i >= lastBefore, $"{dir}: key {k} holds write {i}, older than write {lastBefore} acknowledged before the checkpoint");
                Assert.True(i <= startedAfter, $"{dir}: key {k} holds write {i}, which began after the checkpoint returned (last begun: {startedAfter})");
                Assert.Equal(Value(i, i), r.Value);
            }
        }
    }

    [Fact]
    public void CreateCheckpoint_MachineCrashesRightAfter_CheckpointIsDurable()
    {
        var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/data");
        var options = Small(fs);
        var expected = new Dictionary<int, byte[]?>();
        var db = Database.Open("/data/db", options);
        for (var i = 0; i < 700; i++)
        {
            db.Put(Key(i), Value(i, 1), i + 1);
            expected[i] = Value(i, 1);
        }
        db.CreateCheckpoint("/data/ckpt");
        fs.Crash(); // only what was synced (file bytes and directory entries) survives
        db.Dispose();

        using var checkpoint = Database.Open("/data/ckpt", options);
        AssertHoldsExactly(checkpoint, expected, 700);
    }

    [Fact]
    public void CreateCheckpoint_TargetHoldsFiles_ThrowsAndLeavesItAlone()
    {
        using var store = new Store(local: false);
        var fs = store.FileSystem;
        using var db = Database.Open(store.Db, Small(fs));
        db.Put(Key(1), Value(1, 1), 1);
        fs.CreateDirectory(store.Sub("busy"));
        using (var f = fs.CreateWritable(Path.Combine(store.Sub("busy"), "notes.txt"))) f.Append("x"u8);

        var e = Assert.Throws<IOException>(() => db.CreateCheckpoint(store.Sub("busy")));
        Assert.Contains("already holds 1 file(s)", e.Message);
        Assert.Equal(["notes.txt"], fs.ListFiles(store.Sub("busy")));

        var own = Assert.Throws<IOException>(() => db.CreateCheckpoint(store.Db));
        Assert.Contains("own directory", own.Message);
    }

    [Fact]
    public void CreateCheckpoint_EmptyExistingDirectoryOrEmptyStore_Works()
    {
        using var store = new Store(local: false);
        var fs = store.FileSystem;
        using var db = Database.Open(store.Db, Small(fs));
        fs.CreateDirectory(store.Sub("empty"));
        var result = db.CreateCheckpoint(store.Sub("empty"));
        Assert.Equal(0, result.TableCount);
        using var checkpoint = Database.Open(store.Sub("empty"), Small(fs));
        Assert.Equal(ReadStatus.Absent, checkpoint.Get(Key(1)).Status);
    }

    [Fact]
    public void CreateCheckpoint_FileSystemCannotLink_CopiesTables()
    {
        var fs = new NoLinkFileSystem(new InMemoryFileSystem());
        fs.CreateDirectory("/data");
        var expected = new Dictionary<int, byte[]?>();
        var options = Small(fs);
        using (var db = Database.Open("/data/db", options))
        {
            for (var i = 0; i < 800; i++)
            {
                db.Put(Key(i), Value(i, 1), i + 1);
                expected[i] = Value(i, 1);
            }
            var result = db.CreateCheckpoint("/data/copy");
            Assert.True(result.TableCount > 0);
            Assert.Equal(result.TableCount, result.CopiedFiles);
            Assert.Equal(0, result.LinkedFiles);
            db.Put(Key(0), Value(0, 2), 10_000);
        }
        using var checkpoint = Database.Open("/data/copy", options);
        AssertHoldsExactly(checkpoint, expected, 800);
    }

    [Fact]
    public void CreateCheckpoint_CheckpointDirectory_HoldsOnlyItsTablesManifestAndCurrent()
    {
        using var store = new Store(local: false);
        var fs = store.FileSystem;
        using var db = Database.Open(store.Db, Small(fs, autoCompaction: false));
        for (var i = 0; i < 600; i++) db.Put(Key(i), Value(i, 1), i + 1);
        var result = db.CreateCheckpoint(store.Sub("ckpt"));
        var names = fs.ListFiles(store.Sub("ckpt"));
        Assert.Equal(result.TableCount, names.Count(n => FileNames.TryParse(n, out var t, out _) && t == FileType.Table));
        Assert.Single(names, n => FileNames.TryParse(n, out var t, out _) && t == FileType.Manifest);
        Assert.Contains(FileNames.CurrentName, names);
        Assert.Equal(result.TableCount + 2, names.Count); // no WAL, no temp file, no LOCK
    }

    private static void AssertHoldsExactly(Database db, Dictionary<int, byte[]?> expected, int keySpace)
    {
        for (var i = 0; i < keySpace; i++)
        {
            var r = db.Get(Key(i));
            if (expected.TryGetValue(i, out var value) && value is not null)
            {
                Assert.True(r.Status == ReadStatus.Found, $"key {i} is {r.Status} in the checkpoint");
                Assert.Equal(value, r.Value);
            }
            else
            {
                Assert.True(r.Status != ReadStatus.Found, $"key {i} should be absent or deleted in the checkpoint");
            }
        }
        var live = 0;
        using (var scan = db.Scan(default, default))
        {
            while (scan.MoveNext()) live++;
        }
        Assert.Equal(expected.Values.Count(v => v is not null), live);
    }

    /// <summary>A file system on which hard links always fail as across devices.</summary>
    private sealed class NoLinkFileSystem(IFileSystem inner) : ForwardingFileSystem(inner)
    {
        public override void HardLink(string existing, string link) => throw new NotSupportedException("EXDEV (simulated)");
    }
}
