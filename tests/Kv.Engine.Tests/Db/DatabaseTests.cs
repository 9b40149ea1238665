using System.Buffers;
using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Tests.IO;

namespace Kv.Engine.Tests.Db;

public class DatabaseTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static EngineOptions Mem(InMemoryFileSystem fs, long memtable = 64 * 1024, TimeProvider? clock = null) => new()
    {
        FileSystem = fs,
        MemtableSizeBytes = memtable,
        BlockCacheBytes = 1 << 20,
        TimeProvider = clock ?? TimeProvider.System,
    };

    [Fact]
    public void Get_OlderTimestampWrittenAfterNewer_NewerStillWins()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        db.Put(B("k"), B("new"), 200);
        db.Put(B("k"), B("old"), 100);
        var r = db.Get(B("k"));
        Assert.Equal(ReadStatus.Found, r.Status);
        Assert.Equal(200, r.Timestamp);
        Assert.Equal(B("new"), r.Value);
    }

    [Fact]
    public void Get_NewerVersionInTableOlderInMemtable_TableVersionWins()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        db.Put(B("k"), B("new"), 200);
        db.Flush();
        db.Put(B("k"), B("old"), 100);
        Assert.Equal(B("new"), db.Get(B("k")).Value);
        db.Flush();
        Assert.Equal(B("new"), db.Get(B("k")).Value);
        using var scan = db.Scan(default, default);
        Assert.True(scan.MoveNext());
        Assert.Equal(200, scan.Timestamp);
        Assert.False(scan.MoveNext());
    }

    [Fact]
    public void Delete_ThenOlderPut_StaysDeletedWithTombstoneTimestamp()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        db.Put(B("k"), B("v"), 10);
        db.Delete(B("k"), 20);
        db.Put(B("k"), B("late"), 15);
        var r = db.Get(B("k"));
        Assert.Equal(ReadStatus.Deleted, r.Status);
        Assert.Equal(20, r.Timestamp);
        Assert.Null(r.Value);
        db.Put(B("k"), B("newer"), 30);
        Assert.Equal(B("newer"), db.Get(B("k")).Value);
    }

    [Fact]
    public void Get_TombstoneAndValueWithSameTimestamp_TombstoneWins()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        db.Delete(B("k"), 5);
        db.Flush();
        db.Put(B("k"), B("v"), 5);
        Assert.Equal(ReadStatus.Deleted, db.Get(B("k")).Status);
    }

    [Fact]
    public void Get_ExpiredValue_ReadsAbsentAndScanSkipsIt()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(10_000));
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem(), clock: clock));
        db.Put(B("a"), B("1"), 1, expiresAtUnixMs: 10_500);
        db.Put(B("b"), B("2"), 1);
        var r = db.Get(B("a"));
        Assert.Equal(ReadStatus.Found, r.Status);
        Assert.Equal(10_500, r.ExpiresAtUnixMs);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(ReadStatus.Absent, db.Get(B("a")).Status);
        // TryGet still names the expired version's timestamp: a caller merging versions it holds elsewhere (kv-node's
        // pending read-modify-writes) must know the engine's newest write is newer than its own.
        var writer = new ArrayBufferWriter<byte>();
        Assert.False(db.TryGet(B("a"), writer, out var status, out var timestamp, out _));
        Assert.Equal(ReadStatus.Absent, status);
        Assert.Equal(1, timestamp);
        Assert.Equal(0, writer.WrittenCount);
        using var scan = db.Scan(default, default);
        Assert.True(scan.MoveNext());
        Assert.Equal(B("b"), scan.Key.ToArray());
        Assert.False(scan.MoveNext());
        using var raw = db.Scan(default, default, new ScanOptions { IncludeTombstones = true });
        Assert.True(raw.MoveNext());
        Assert.Equal(B("a"), raw.Key.ToArray());
        Assert.Equal(10_500, raw.ExpiresAtUnixMs);
    }

    [Fact]
    public void GetStats_KeyOverwrittenInTheMemtable_CountedOnce()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem(), memtable: 4 << 20));
        for (var i = 1; i <= 100; i++) db.Put(B("same"), B("v" + i), i);
        db.Put(B("other"), B("x"), 101);
        Assert.Equal(2, db.GetStats().EstimatedEntries);
        db.Flush(); // the table keeps the newest version of each
        Assert.Equal(2, db.GetStats().EstimatedEntries);
    }

    [Fact]
    public void GetStats_ValuesWithAnExpiry_CountedWithTheirMeanInTheMemtableAndThroughATableAndReopen()
    {
        var fs = new InMemoryFileSystem();
        using (var db = Database.Open("/db", Mem(fs)))
        {
            db.Put(B("a"), B("1"), 1, expiresAtUnixMs: 10_000);
            db.Put(B("b"), B("2"), 2, expiresAtUnixMs: 20_000);
            db.Put(B("c"), B("3"), 3);
            db.Delete(B("d"), 4);
            var stats = db.GetStats();
            Assert.Equal(2, stats.EstimatedExpiringEntries);
            Assert.Equal(15_000, stats.EstimatedMeanExpiresAtUnixMs);
            db.Flush();
            db.Put(B("e"), B("5"), 5, expiresAtUnixMs: 60_000); // one in the memtable, two in the table
            stats = db.GetStats();
            Assert.Equal(3, stats.EstimatedExpiringEntries);
            Assert.Equal(30_000, stats.EstimatedMeanExpiresAtUnixMs);
            db.Flush();
        }
        using (var db = Database.Open("/db", Mem(fs))) // read back from the tables' properties
        {
            var stats = db.GetStats();
            Assert.Equal(3, stats.EstimatedExpiringEntries);
            Assert.Equal(30_000, stats.EstimatedMeanExpiresAtUnixMs);
        }
        using (var db = Database.Open("/empty", Mem(fs)))
        {
            Assert.Equal(0, db.GetStats().EstimatedExpiringEntries);
            Assert.Equal(0, db.GetStats().EstimatedMeanExpiresAtUnixMs);
        }
    }

    [Fact]
    public void PutGet_EmptyKeyAndEmptyValue_RoundTripAcrossFlushAndReopen()
    {
        var fs = new InMemoryFileSystem();
        using (var db = Database.Open("/db", Mem(fs)))
        {
            db.Put([], B("empty-key"), 1);
            db.Put(B("k"), [], 1);
            Assert.Equal(B("empty-key"), db.Get([]).Value);
            Assert.Equal(ReadStatus.Found, db.Get(B("k")).Status);
            Assert.Empty(db.Get(B("k")).Value!);
            db.Flush();
        }
        using (var db = Database.Open("/db", Mem(fs)))
        {
            Assert.Equal(B("empty-key"), db.Get([]).Value);
            Assert.Empty(db.Get(B("k")).Value!);
        }
    }

    [Fact]
    public void PutGet_OneMebibyteValuesAndKibibyteKeys_RoundTripFromMemtableTableAndWal()
    {
        var fs = new InMemoryFileSystem();
        var rng = new Random(3);
        var big = new byte[1 << 20];
        rng.NextBytes(big);
        var longKey = new byte[1024];
        rng.NextBytes(longKey);
        using (var db = Database.Open("/db", Mem(fs, memtable: 4 << 20)))
        {
            db.Put(B("big"), big, 1);
            db.Put(longKey, B("long-key"), 1);
            Assert.Equal(big, db.Get(B("big")).Value);
            Assert.Equal(B("long-key"), db.Get(longKey).Value);
            db.Flush();
            Assert.Equal(big, db.Get(B("big")).Value);
            db.Put(B("big2"), big, 2);
        }
        using (var db = Database.Open("/db", Mem(fs, memtable: 4 << 20)))
        {
            Assert.Equal(big, db.Get(B("big")).Value);
            Assert.Equal(big, db.Get(B("big2")).Value);
            Assert.Equal(B("long-key"), db.Get(longKey).Value);
            var writer = new ArrayBufferWriter<byte>();
            Assert.True(db.TryGet(longKey, writer, out var status, out var ts, out _));
            Assert.Equal(ReadStatus.Found, status);
            Assert.Equal(1, ts);
        }
    }

    [Fact]
    public void TryGet_DeletedKey_ReportsDeletedAndWritesNothing()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        db.Delete(B("k"), 9);
        var writer = new ArrayBufferWriter<byte>();
        Assert.False(db.TryGet(B("k"), writer, out var status, out var ts, out _));
        Assert.Equal(ReadStatus.Deleted, status);
        Assert.Equal(9, ts);
        Assert.Equal(0, writer.WrittenCount);
        Assert.False(db.TryGet(B("nothing"), writer, out status, out _, out _));
        Assert.Equal(ReadStatus.Absent, status);
    }

    [Fact]
    public void Scan_WritesAfterScanBegan_AreInvisible()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem(), memtable: 4096));
        for (var i = 0; i < 50; i++) db.Put(B($"k{i:D3}"), B("before"), 1);
        using var scan = db.Scan(default, default);
        // after the scan began: new keys, newer versions, deletes, and enough data to rotate and flush
        for (var i = 0; i < 50; i++)
        {
            db.Put(B($"k{i:D3}"), B("after"), 2);
            db.Put(B($"n{i:D3}"), B("after"), 2);
        }
        db.Delete(B("k000"), 3);
        db.Flush();
        var count = 0;
        while (scan.MoveNext())
        {
            Assert.Equal(B("before"), scan.Value.ToArray());
            Assert.StartsWith("k", Encoding.UTF8.GetString(scan.Key));
            count++;
        }
        Assert.Equal(50, count);
    }

    [Fact]
    public void Scan_Range_IsHalfOpenAndOrdered()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        foreach (var k in new[] { "d", "a", "c", "b", "e" }) db.Put(B(k), B(k), 1);
        db.Flush();
        db.Put(B("bb"), B("bb"), 1);
        var seen = new List<string>();
        using var scan = db.Scan(B("b"), B("d"));
        while (scan.MoveNext()) seen.Add(Encoding.UTF8.GetString(scan.Key));
        Assert.Equal(["b", "bb", "c"], seen);
    }

    [Fact]
    public void Scan_Seek_RepositionsWithinRangeOverTheSameSnapshot()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        foreach (var k in new[] { "a", "c", "e", "g" }) db.Put(B(k), B(k), 1);
        db.Flush();
        db.Put(B("d"), B("d"), 1);
        using var scan = db.Scan(B("b"), B("g"));
        db.Put(B("f"), B("after"), 1); // after the scan began: never visible, whatever the seek
        var seen = new List<string>();
        scan.Seek(B("d"));
        while (scan.MoveNext()) seen.Add(Encoding.UTF8.GetString(scan.Key));
        Assert.Equal(["d", "e"], seen);
        scan.Seek(B("a")); // before the range: clamped to its start
        Assert.True(scan.MoveNext());
        Assert.Equal(B("c"), scan.Key.ToArray());
        scan.Seek(B("cc"));
        Assert.True(scan.MoveNext());
        Assert.Equal(B("d"), scan.Key.ToArray());
        scan.Seek(B("z"));
        Assert.False(scan.MoveNext());
    }

    [Fact]
    public void Open_DirectoryAlreadyOpen_FailsWithClearMessage()
    {
        var fs = new InMemoryFileSystem();
        using var db = Database.Open("/db", Mem(fs));
        var e = Assert.Throws<IOException>(() => Database.Open("/db", Mem(fs)));
        Assert.Contains("already open", e.Message);
    }

    [Fact]
    public void Open_LocalDirectoryAlreadyOpen_FailsNamingTheDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kvdb-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var db = Database.Open(dir, new EngineOptions { MemtableSizeBytes = 1 << 20, BlockCacheBytes = 1 << 20 }))
            {
                db.Put(B("k"), B("v"), 1);
                var e = Assert.Throws<IOException>(() => Database.Open(dir));
                Assert.Contains(Path.GetFullPath(dir), e.Message);
            }
            using var again = Database.Open(dir, new EngineOptions { MemtableSizeBytes = 1 << 20, BlockCacheBytes = 1 << 20 });
            Assert.Equal(B("v"), again.Get(B("k")).Value);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Open_WalCorruptedInTheMiddle_FailsNamingTheLogFile()
    {
        var fs = new InMemoryFileSystem();
        using (var db = Database.Open("/db", Mem(fs)))
        {
            for (var i = 0; i < 200; i++) db.Put(B($"key{i}"), new byte[100], i);
        }
        var log = fs.ListFiles("/db").Single(n => n.EndsWith(".log", StringComparison.Ordinal));
        var path = "/db/" + log;
        var length = fs.GetFileLength(path);
        fs.CorruptByte(path, length / 3);
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Contains(log, e.FilePath);
        // the failed open released the directory
        Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
    }

    [Fact]
    public void Write_ManyThreads_EveryWriteReadableAndFlushesHappen()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem(), memtable: 16 * 1024));
        var threads = new Thread[4];
        for (var t = 0; t < threads.Length; t++)
        {
            var id = t;
            threads[t] = new Thread(() =>
            {
                var batch = new WriteBatch();
                for (var i = 0; i < 500; i++)
                {
                    if (i % 10 == 0)
                    {
                        batch.Clear();
                        batch.Put(B($"t{id}-b{i}-x"), B("x"), i);
                        batch.Put(B($"t{id}-b{i}-y"), B("y"), i);
                        db.Write(batch);
                    }
                    else
                    {
                        db.Put(B($"t{id}-{i}"), B($"v{i}"), i);
                    }
                }
            });
            threads[t].Start();
        }
        foreach (var t in threads) t.Join();
        for (var t = 0; t < threads.Length; t++)
        {
            for (var i = 0; i < 500; i++)
            {
                if (i % 10 == 0) Assert.Equal(B("y"), db.Get(B($"t{t}-b{i}-y")).Value);
                else Assert.Equal(B($"v{i}"), db.Get(B($"t{t}-{i}")).Value);
            }
        }
        Assert.True(db.GetStats().FlushCount > 0);
    }

    /// <summary>Regression: GroupCommits counted only the synchronous commit queue, so a server writing through
    /// WriteAsync reported no group commits at all. Now the WAL counts its own syncs, across rotations.</summary>
    [Fact]
    public async Task WriteAsync_SequentialDurableWritesAcrossWalRotations_EachIsOneWalWriteAndSync()
    {
        const int Writes = 300;
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem(), memtable: 4096));
        var batch = new WriteBatch();
        for (var i = 0; i < Writes; i++)
        {
            batch.Clear();
            batch.Put(B($"k{i:D4}"), B(new string('v', 100)), i + 1);
            await db.WriteAsync(batch); // awaited one at a time: every group holds exactly this write
        }

        var stats = db.GetStats();
        Assert.True(stats.WalBytes < stats.BytesWritten, "the WAL never rotated: counts of retired WALs are not covered");
        Assert.Equal(Writes, stats.GroupedWrites);
        Assert.Equal(Writes, stats.GroupCommits);
        Assert.Equal(Writes, stats.WalWrites);
    }

    /// <summary>A WAL file whose syncs take <paramref name="delay"/>: the engine's sync histogram must show it.</summary>
    private sealed class SlowWalSyncs(IFileSystem inner, TimeSpan delay) : ForwardingFileSystem(inner)
    {
        public override IWritableFile CreateWritable(string path) =>
            path.EndsWith(".log", StringComparison.Ordinal) ? new SlowSync(Inner.CreateWritable(path), delay) : Inner.CreateWritable(path);

        private sealed class SlowSync(IWritableFile inner, TimeSpan delay) : IWritableFile
        {
            public long Length => inner.Length;
            public void Append(ReadOnlySpan<byte> data) => inner.Append(data);
            public void Flush() => inner.Flush();
            public void Dispose() => inner.Dispose();

            public void Sync()
            {
                Thread.Sleep(delay);
                inner.Sync();
            }
        }
    }

    [Fact]
    public async Task GetStats_WalSyncsTakeThreeMilliseconds_SyncPercentilesSayAtLeastThat()
    {
        var fresh = Database.Open("/db", Mem(new InMemoryFileSystem()));
        Assert.Equal(0, fresh.GetStats().WalSyncMaxMicros); // nothing synced yet
        fresh.Dispose();

        var options = Mem(new InMemoryFileSystem());
        options.FileSystem = new SlowWalSyncs(new InMemoryFileSystem(), TimeSpan.FromMilliseconds(3));
        using var db = Database.Open("/db", options);
        var batch = new WriteBatch();
        for (var i = 0; i < 20; i++)
        {
            batch.Clear();
            batch.Put(B($"k{i}"), B("v"), i + 1);
            await db.WriteAsync(batch);
        }

        var stats = db.GetStats();
        Assert.InRange(stats.WalSyncP50Micros, 3000, long.MaxValue);
        Assert.InRange(stats.WalSyncP99Micros, stats.WalSyncP50Micros, long.MaxValue);
        Assert.InRange(stats.WalSyncP999Micros, stats.WalSyncP99Micros, long.MaxValue);
        Assert.InRange(stats.WalSyncMaxMicros, stats.WalSyncP999Micros, long.MaxValue);
    }

    [Fact]
    public void Write_ConcurrentDurableWriters_GroupedIntoSharedWalRecordsThatReplayAfterReopen()
    {
        var fs = new InMemoryFileSystem();
        const int Threads = 8, PerThread = 300;
        using (var db = Database.Open("/db", Mem(fs, memtable: 1 << 20)))
        {
            var threads = new Thread[Threads];
            for (var t = 0; t < Threads; t++)
            {
                var id = t;
                threads[t] = new Thread(() =>
                {
                    var batch = new WriteBatch();
                    for (var i = 0; i < PerThread; i++)
                    {
                        batch.Clear();
                        batch.Put(B($"t{id}-{i}-a"), B($"a{i}"), i + 1);
                        batch.Put(B($"t{id}-{i}-b"), B($"b{i}"), i + 1);
                        db.Write(batch);
                    }
                });
                threads[t].Start();
            }
            foreach (var t in threads) t.Join();
            var stats = db.GetStats();
            Assert.Equal(Threads * PerThread, stats.GroupedWrites);
            Assert.InRange(stats.GroupCommits, 1, stats.GroupedWrites);
        }
        using (var db = Database.Open("/db", Mem(fs, memtable: 1 << 20)))
        {
            for (var t = 0; t < Threads; t++)
            {
                for (var i = 0; i < PerThread; i++)
                {
                    Assert.Equal(B($"a{i}"), db.Get(B($"t{t}-{i}-a")).Value);
                    Assert.Equal(B($"b{i}"), db.Get(B($"t{t}-{i}-b")).Value);
                }
            }
        }
    }

    [Fact]
    public void Put_AfterDispose_ThrowsObjectDisposed()
    {
        var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        db.Put(B("k"), B("v"), 1);
        db.Dispose();
        Assert.Throws<ObjectDisposedException>(() => db.Put(B("k"), B("v"), 2));
        Assert.Throws<ObjectDisposedException>(() => db.Get(B("k")));
    }

    /// <summary>A database whose syncs wait at <see cref="CountingFileSystem.SyncGate"/>, closed (held) on return.</summary>
    private static Database OpenWithSyncsHeld(out CountingFileSystem counting)
    {
        counting = new CountingFileSystem(new InMemoryFileSystem());
        var options = Mem(new InMemoryFileSystem());
        options.FileSystem = counting;
        var db = Database.Open("/db", options);
        counting.SyncGate.Reset();
        return db;
    }

    [Fact]
    public async Task WriteAsync_CancelledWhileItsGroupSyncs_IsStillVisibleOnceDurable()
    {
        // A write whose caller stopped waiting is in the log and comes back after a restart, so it must be readable
        // before one too: the WAL's group leader inserts it whether or not its appender still waits.
        using var db = OpenWithSyncsHeld(out var counting);
        var first = new WriteBatch();
        first.Put(B("a"), B("1"), 1);
        var firstWrite = db.WriteAsync(first).AsTask();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (counting.SyncsStarted == 0 && DateTime.UtcNow < deadline) Thread.Sleep(1);
        using var cancel = new CancellationTokenSource();
        var second = new WriteBatch();
        second.Put(B("b"), B("2"), 1);
        var secondWrite = db.WriteAsync(second, cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => secondWrite);
        Assert.Equal(ReadStatus.Absent, db.Get(B("b")).Status); // not durable yet, so not visible
        counting.SyncGate.Set();
        await firstWrite;
        while (db.Get(B("b")).Status != ReadStatus.Found && DateTime.UtcNow < deadline) Thread.Sleep(1);
        Assert.Equal(B("2"), db.Get(B("b")).Value);
    }

    [Fact]
    public async Task WriteAsync_BatchClearedAndRefilledBeforeTheWriteIsDurable_WritesWhatItHeldWhenCalled()
    {
        using var db = OpenWithSyncsHeld(out var counting); // every write below waits until all are issued
        var batch = new WriteBatch();
        var writes = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            batch.Clear();
            batch.Put(B($"k{i}"), B($"v{i}"), 1);
            writes.Add(db.WriteAsync(batch).AsTask());
        }
        Assert.DoesNotContain(writes, w => w.IsCompleted);
        counting.SyncGate.Set();
        await Task.WhenAll(writes);
        for (var i = 0; i < 20; i++) Assert.Equal(B($"v{i}"), db.Get(B($"k{i}")).Value);
    }

    [Fact]
    public async Task WriteAsync_ManyConcurrentWritersAcrossMemtableSwitches_AllReadableAndCloseDoesNotWait()
    {
        // Async writers leave their memtable generation when the WAL's group leader releases their group, and the
        // switch of a full memtable waits for exactly those writers: a lost release would hang the switch or close.
        var fs = new InMemoryFileSystem();
        var db = Database.Open("/db", Mem(fs, memtable: 8 * 1024));
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var batch = new WriteBatch();
            for (var i = 0; i < 300; i++)
            {
                batch.Clear();
                batch.Put(B($"w{w}-{i}"), new byte[100], 1);
                await db.WriteAsync(batch);
            }
        })).ToList();
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(db.GetStats().FlushCount > 10, $"{db.GetStats().FlushCount} flushes: the memtable never filled?");
        for (var w = 0; w < 8; w++)
            for (var i = 0; i < 300; i++)
                Assert.Equal(ReadStatus.Found, db.Get(B($"w{w}-{i}")).Status);
        var close = Task.Run(db.Dispose);
        await close.WaitAsync(TimeSpan.FromSeconds(60));
        using var reopened = Database.Open("/db", Mem(fs, memtable: 8 * 1024));
        Assert.Equal(ReadStatus.Found, reopened.Get(B("w7-299")).Status);
    }

    [Fact]
    public async Task WriteAsync_Batch_IsAppliedAtomically()
    {
        using var db = Database.Open("/db", Mem(new InMemoryFileSystem()));
        var batch = new WriteBatch();
        batch.Put(B("a"), B("1"), 1);
        batch.Delete(B("b"), 1);
        batch.Put(B("c"), B("3"), 1, 0);
        Assert.Equal(3, batch.Count);
        await db.WriteAsync(batch);
        Assert.Equal(B("1"), db.Get(B("a")).Value);
        Assert.Equal(ReadStatus.Deleted, db.Get(B("b")).Status);
        Assert.Equal(B("3"), db.Get(B("c")).Value);
    }

    [Fact]
    public void Reopen_AfterFlushes_DeletesObsoleteLogsAndKeepsData()
    {
        var fs = new InMemoryFileSystem();
        // Auto compaction off: this test counts L0 files, which a background compaction could merge into L1 at any moment.
        var options = Mem(fs, memtable: 4096);
        options.DisableAutoCompaction = true;
        using (var db = Database.Open("/db", options))
        {
            for (var i = 0; i < 300; i++) db.Put(B($"k{i}"), new byte[64], i);
            db.Flush();
            var stats = db.GetStats();
            Assert.True(stats.FlushCount >= 2);
            Assert.True(stats.FilesPerLevel[0] >= 2);
            Assert.True(fs.ListFiles("/db").Count(n => n.EndsWith(".log", StringComparison.Ordinal)) == 1, string.Join(",", fs.ListFiles("/db")));
        }
        using (var db = Database.Open("/db", Mem(fs, memtable: 4096)))
        {
            for (var i = 0; i < 300; i++) Assert.Equal(ReadStatus.Found, db.Get(B($"k{i}")).Status);
        }
    }

    [Fact]
    public void Open_TableFileMissing_FailsNamingTheTable()
    {
        var fs = new InMemoryFileSystem();
        using (var db = Database.Open("/db", Mem(fs)))
        {
            db.Put(B("k"), B("v"), 1);
            db.Flush();
        }
        var table = fs.ListFiles("/db").Single(n => n.EndsWith(".sst", StringComparison.Ordinal));
        fs.DeleteFile("/db/" + table);
        var e = Assert.Throws<CorruptionException>(() => Database.Open("/db", Mem(fs)));
        Assert.Contains(table, e.FilePath);
    }

    [Fact]
    public void Get_TableBlockCorrupted_ThrowsCorruptionNotAWrongValue()
    {
        var fs = new InMemoryFileSystem();
        using (var db = Database.Open("/db", Mem(fs)))
        {
            for (var i = 0; i < 100; i++) db.Put(B($"key{i:D3}"), B($"value-{i}"), 1);
            db.Flush();
        }
        var table = "/db/" + fs.ListFiles("/db").Single(n => n.EndsWith(".sst", StringComparison.Ordinal));
        fs.CorruptByte(table, 20); // inside the first data block
        using var reopened = Database.Open("/db", new EngineOptions { FileSystem = fs, BlockCacheBytes = 0 });
        var e = Assert.Throws<CorruptionException>(() => reopened.Get(B("key000")));
        Assert.Contains(".sst", e.FilePath);
        Assert.Throws<CorruptionException>(() =>
        {
            using var scan = reopened.Scan(default, default);
            while (scan.MoveNext()) { }
        });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Get_AfterFlush_FindsTheFlushedBlocksInTheCacheOnlyWhenPrepopulated(bool prepopulate)
    {
        var fs = new InMemoryFileSystem();
        using var db = Database.Open("/db", new EngineOptions
        {
            FileSystem = fs,
            MemtableSizeBytes = 1 << 20,
            BlockCacheBytes = 4 << 20,
            PrepopulateBlockCacheOnFlush = prepopulate,
        });
        for (var i = 0; i < 2000; i++) db.Put(B($"key{i:D5}"), B(new string((char)('a' + (i % 26)), 100)), 1);
        db.Flush();
        Assert.Equal(0, db.GetStats().MemtableBytes);
        for (var i = 0; i < 2000; i++) Assert.Equal(B(new string((char)('a' + (i % 26)), 100)), db.Get(B($"key{i:D5}")).Value);
        var stats = db.GetStats();
        Assert.True(stats.PointReadBlocks >= 2000, $"{stats.PointReadBlocks} blocks read");
        if (prepopulate) Assert.Equal(1.0, stats.BlockCacheHitRate);
        else Assert.True(stats.BlockCacheHitRate < 1.0, $"hit rate {stats.BlockCacheHitRate}");
    }
}
