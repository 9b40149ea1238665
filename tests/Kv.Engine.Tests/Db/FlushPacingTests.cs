using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Tests.IO;

namespace Kv.Engine.Tests.Db;

/// <summary><see cref="EngineOptions.ForegroundBusy"/>: a flush nothing waits for pauses while requests run, and runs at
/// full speed once something waits for it or writes come in.</summary>
public class FlushPacingTests
{
    private static byte[] Key(int i) => Encoding.ASCII.GetBytes($"key{i:D8}");
    private static byte[] Value(int i) => Encoding.ASCII.GetBytes($"value-{i:D8}-padding-padding-padding");

    private static EngineOptions Options(int paceEvery, TimeSpan writeQuiet) => new()
    {
        FileSystem = new InMemoryFileSystem(),
        MemtableSizeBytes = 256 * 1024,
        BlockCacheBytes = 1 << 20,
        DisableAutoCompaction = true,
        ForegroundBusy = () => true, // requests are always being served
        FlushPaceEntries = paceEvery,
        FlushPaceWriteQuiet = writeQuiet,
    };

    /// <summary>Writes until the first memtable is switched and its flush has begun; returns how many keys.</summary>
    private static int WriteUntilFlushStarts(Database db)
    {
        var n = 0;
        while (db.GetStats() is { ImmutableMemtableBytes: 0, FlushCount: 0 })
        {
            db.Put(Key(n), Value(n), n + 1);
            n++;
            Assert.True(n < 1_000_000, "the memtable never switched");
        }
        return n;
    }

    private static void WaitForFlushes(Database db, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (db.GetStats().FlushCount < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no flush completed; {db.GetStats().FlushPauses} pauses so far");
            Thread.Sleep(5);
        }
    }

    private static void AssertAllReadable(Database db, int n)
    {
        for (var i = 0; i < n; i++) Assert.Equal(Value(i), db.Get(Key(i)).Value);
    }

    [Fact]
    public void FlushDuringReadsAlone_Pauses_AndStillWritesEverything()
    {
        using var db = Database.Open("/db", Options(paceEvery: 8, writeQuiet: TimeSpan.Zero));
        var n = WriteUntilFlushStarts(db);
        WaitForFlushes(db, 1);
        var stats = db.GetStats();
        // Every 8 entries of the flushed memtable, one pause (the first check may come before the memtable switched).
        Assert.True(stats.FlushPauses > 0, "the flush never paused although requests were always running");
        Assert.Equal(1, stats.FilesPerLevel[0]);
        AssertAllReadable(db, n);
    }

    [Fact]
    public void FlushSomeoneWaitsFor_RunsAtFullSpeed()
    {
        // One pause per entry: paced, this flush would take a millisecond per entry (thousands).
        using var db = Database.Open("/db", Options(paceEvery: 1, writeQuiet: TimeSpan.Zero));
        var n = WriteUntilFlushStarts(db);
        db.Flush(); // waits for the running flush: from then on it is urgent
        var pauses = db.GetStats().FlushPauses;
        Assert.True(pauses < n / 2, $"{pauses} pauses in a flush of {n} entries that Flush() waited for");
        AssertAllReadable(db, n);
    }

    [Fact]
    public void FlushWhileWritesComeIn_IsNotPaced()
    {
        // Any growth of the active memtable in the last hour counts as writes coming in; the flush's first check sees
        // one (nothing seen before), so it never pauses.
        using var db = Database.Open("/db", Options(paceEvery: 1, writeQuiet: TimeSpan.FromHours(1)));
        var n = WriteUntilFlushStarts(db);
        WaitForFlushes(db, 1);
        Assert.Equal(0, db.GetStats().FlushPauses);
        AssertAllReadable(db, n);
    }

    [Fact]
    public void WithoutForegroundBusy_NothingPauses()
    {
        var options = Options(paceEvery: 1, writeQuiet: TimeSpan.Zero);
        options.ForegroundBusy = null;
        using var db = Database.Open("/db", options);
        var n = WriteUntilFlushStarts(db);
        WaitForFlushes(db, 1);
        Assert.Equal(0, db.GetStats().FlushPauses);
        AssertAllReadable(db, n);
    }

    [Fact]
    public void PaceEntries_BelowOne_IsRefused()
    {
        var options = Options(paceEvery: 0, writeQuiet: TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => Database.Open("/db", options));
    }
}
