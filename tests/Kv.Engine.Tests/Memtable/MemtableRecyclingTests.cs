using System.Text;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Memtable;

namespace Kv.Engine.Tests.Memtable;

/// <summary>A flushed memtable's memory goes to the next memtable (<see cref="MemtableMemoryPool"/>), but only once no
/// read can still see it: read views hold references on the memtables they show.</summary>
public class MemtableRecyclingTests
{
    private const int MemtableBytes = 256 * 1024; // chunks of 64 KiB

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static EngineOptions Options() => new()
    {
        FileSystem = new InMemoryFileSystem(),
        MemtableSizeBytes = MemtableBytes,
        DisableAutoCompaction = true,
    };

    /// <summary>A value that says which key and round it belongs to, so a read of memory another memtable reused
    /// cannot pass for it.</summary>
    private static byte[] Value(string key, int round) => B($"{key}|{round:D6}|{new string((char)('a' + (round % 26)), 40)}");

    private static void WriteUntilFlushes(Database db, long flushes, string prefix, ref int n)
    {
        while (db.GetStats().FlushCount < flushes)
        {
            db.Put(B($"{prefix}{n:D8}"), Value($"{prefix}{n:D8}", n), n + 1_000_000);
            n++;
            Assert.True(n < 2_000_000, "the memtable never switched");
        }
    }

    [Fact]
    public void FlushedMemtables_GiveTheirChunksToTheNextOnes_AndThePoolStaysWithinOneMemtable()
    {
        using var db = Database.Open("/db", Options());
        var n = 0;
        WriteUntilFlushes(db, 6, "k", ref n);
        var stats = db.GetStats();
        Assert.True(stats.MemtableChunksReused > 0, "no memtable reused a flushed one's chunks");
        Assert.InRange(stats.MemtablePoolBytes, 0, 2L * MemtableBytes);
        for (var i = 0; i < n; i++) Assert.Equal(Value($"k{i:D8}", i), db.Get(B($"k{i:D8}")).Value);
    }

    [Fact]
    public void ScanOpenedBeforeFlushes_ReadsItsMemtable_WhileLaterMemtablesReuseMemory()
    {
        using var db = Database.Open("/db", Options());
        for (var i = 0; i < 1000; i++) db.Put(B($"a{i:D8}"), Value($"a{i:D8}", i), i + 1);
        using var scan = db.Scan(default, default); // pins the view: the memtable holding a... stays readable

        // Enough memtables switched and flushed that the first one's chunks would have been handed out twice over.
        var n = 0;
        WriteUntilFlushes(db, 5, "b", ref n);
        Assert.True(db.GetStats().MemtableChunksReused > 0, "nothing was reused: the scan below proves nothing");

        var seen = 0;
        while (scan.MoveNext())
        {
            var key = Encoding.ASCII.GetString(scan.Key);
            Assert.Equal($"a{seen:D8}", key); // the b... writes came after the scan's snapshot
            Assert.Equal(Value(key, seen), scan.Value.ToArray());
            seen++;
        }
        Assert.Equal(1000, seen);
    }

    [Fact]
    public void PointReads_DuringFlushesThatReuseMemory_AlwaysSeeWellFormedValues()
    {
        using var db = Database.Open("/db", Options());
        const int hot = 200;
        for (var i = 0; i < hot; i++) db.Put(B($"h{i:D4}"), Value($"h{i:D4}", 0), 1);

        // Dedicated threads, not thread-pool tasks: on a busy two-core CI machine queued tasks may not start before
        // the writer is done (a run where no read happened proves nothing).
        var stop = 0;
        var failures = new List<string>();
        var reads = 0L;
        var readers = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var random = new Random(r);
            while (Volatile.Read(ref stop) == 0)
            {
                var key = $"h{random.Next(hot):D4}";
                byte[]? value;
                try
                {
                    value = db.Get(B(key)).Value;
                }
                catch (Exception e) // a read of released memory fails with an index error: a failure, not a crash
                {
                    lock (failures) failures.Add($"{key}: {e.GetType().Name}: {e.Message}");
                    return;
                }
                Interlocked.Increment(ref reads);
                var text = value is null ? "(absent)" : Encoding.ASCII.GetString(value);
                var parts = text.Split('|');
                if (parts.Length != 3 || parts[0] != key || !int.TryParse(parts[1], out var round) || !Value(key, round).AsSpan().SequenceEqual(value))
                {
                    lock (failures) failures.Add($"{key}: {text}");
                    return;
                }
            }
        })
        { IsBackground = true, Name = $"reader-{r}" }).ToArray();
        foreach (var t in readers) t.Start();

        // Rewrites the hot keys every round (so they live in every memtable) between filler writes that switch
        // memtables; each round waits until the readers have read some more, so reads overlap every flush.
        var n = 0;
        for (var round = 1; round <= 40; round++)
        {
            WaitForReads(ref reads, Interlocked.Read(ref reads) + 200, failures);
            for (var i = 0; i < hot; i++) db.Put(B($"h{i:D4}"), Value($"h{i:D4}", round), 2_000_000 + round);
            WriteUntilFlushes(db, round, "f", ref n);
        }
        WaitForReads(ref reads, Interlocked.Read(ref reads) + 200, failures);
        Volatile.Write(ref stop, 1);
        foreach (var t in readers) Assert.True(t.Join(TimeSpan.FromMinutes(1)), "a reader did not stop");
        Assert.Empty(failures);
        Assert.True(db.GetStats().MemtableChunksReused > 0);
    }

    /// <summary>Waits (without a timing assertion: only a hang guard) until the readers reached <paramref name="target"/>
    /// reads or one of them failed.</summary>
    private static void WaitForReads(ref long reads, long target, List<string> failures)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (Interlocked.Read(ref reads) < target)
        {
            lock (failures) if (failures.Count > 0) return;
            Assert.True(DateTime.UtcNow < deadline, "the readers stopped making progress");
            Thread.Sleep(1);
        }
    }

    [Fact]
    public void LastRelease_ReturnsTheMemory_AndTheMemtableCannotBeReferencedAgain()
    {
        var pool = MemtableMemoryPool.For(MemtableBytes, 64 * 1024);
        var first = new SkipListMemtable(64 * 1024, expectedBytes: MemtableBytes, pool: pool);
        for (var i = 0; i < 2000; i++) first.Add(B($"key{i:D6}"), i + 1, EntryKind.Value, Value($"key{i:D6}", i), i + 1);
        first.AddReference(); // a reader
        first.Release();      // the owner: the reader still holds it
        Assert.Equal(0, pool.Bytes);
        Assert.True(first.TryGetNewest(B("key000007"), out _, out _, out var value));
        Assert.Equal(Value("key000007", 7), value.ToArray());

        first.Release(); // the reader: now the memory goes
        Assert.True(pool.Bytes > 0);
        Assert.Throws<InvalidOperationException>(first.AddReference);
        Assert.Throws<InvalidOperationException>(first.Release);
        // A read that broke the rule would fail loudly rather than read another memtable's entries.
        Assert.Throws<IndexOutOfRangeException>(() => first.TryGetNewest(B("key000007"), out _, out _, out _));

        var second = new SkipListMemtable(64 * 1024, expectedBytes: MemtableBytes, pool: pool);
        second.Add(B("other"), 1, EntryKind.Value, B("x"), 1);
        Assert.True(pool.ChunksReused > 0);
        Assert.False(second.TryGetNewest(B("key000007"), out _, out _, out _)); // the reused index was cleared
        Assert.True(second.TryGetNewest(B("other"), out _, out _, out var other));
        Assert.Equal(B("x"), other.ToArray());
    }
}
