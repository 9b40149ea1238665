using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Wal;

namespace Kv.Engine.Tests.Crash;

/// <summary>
/// Crash test (a): concurrent writers (single puts and batches) run against the in-memory file system with
/// tiny memtables (so crashes land during rotations and flushes too); at a random moment the file system
/// "crashes" (drops every byte and directory entry that was not synced). After recovery every write that
/// was acknowledged before the crash must be there with its exact value, and every key that is there must
/// hold exactly a value that was written for it — a write is either fully applied or absent. Several crashes
/// compound on one file system. KV_SOAK=1 runs many more.
/// </summary>
public class InMemoryCrashTests
{
    private const int Writers = 4;

    [Theory]
    [InlineData(WalSyncMode.PerWrite, 1)]
    [InlineData(WalSyncMode.PerWrite, 2)]
    [InlineData(WalSyncMode.Periodic, 3)]
    public void Crash_DuringConcurrentWrites_AcknowledgedWritesSurviveAndNothingIsTorn(WalSyncMode mode, int seed)
    {
        var soak = Environment.GetEnvironmentVariable("KV_SOAK") == "1";
        var rounds = soak ? 50 : 8; // each round re-reads every write acknowledged so far, over one more L0 table: cost grows quadratically
        var rng = new Random(seed);
        var fs = new InMemoryFileSystem();
        var options = new EngineOptions
        {
            FileSystem = fs,
            SyncMode = mode,
            PeriodicSyncInterval = TimeSpan.FromMilliseconds(5),
            MemtableSizeBytes = 8 * 1024,
            BlockSize = 512,
            BlockCacheBytes = 256 * 1024,
        };
        var acknowledged = new List<string>();
        for (var round = 0; round < rounds; round++)
        {
            var db = Database.Open("/db", options);
            var acked = new List<string>[Writers];
            var stop = 0;
            var threads = new Thread[Writers];
            for (var t = 0; t < Writers; t++)
            {
                var id = t;
                acked[t] = [];
                threads[t] = new Thread(() =>
                {
                    var batch = new WriteBatch();
                    try
                    {
                        for (var i = 0; Volatile.Read(ref stop) == 0; i++)
                        {
                            var key = $"r{round}-w{id}-{i}";
                            if (i % 5 == 4)
                            {
                                // a batch: both keys or neither
                                batch.Clear();
                                batch.Put(B(key + "a"), ValueOf(key + "a"), i);
                                batch.Put(B(key + "b"), ValueOf(key + "b"), i);
                                db.Write(batch);
                                lock (acked[id]) { acked[id].Add(key + "a"); acked[id].Add(key + "b"); }
                            }
                            else
                            {
                                db.Put(B(key), ValueOf(key), i);
                                lock (acked[id]) acked[id].Add(key);
                            }
                        }
                    }
                    catch (Exception e) when (e is IOException or ObjectDisposedException)
                    {
                        // the crash pulled the files away: this "process" is dead
                    }
                })
                { IsBackground = true };
                threads[t].Start();
            }
            Thread.Sleep(rng.Next(5, 60));
            // Everything acknowledged before the crash is what must survive (PerWrite).
            var before = new List<string>();
            foreach (var list in acked) lock (list) before.AddRange(list);
            fs.Crash();
            Volatile.Write(ref stop, 1);
            foreach (var t in threads) t.Join();
            AbandonAfterCrash(db);

            using var recovered = Database.Open("/db", options);
            if (mode == WalSyncMode.PerWrite) acknowledged.AddRange(before);
            foreach (var key in acknowledged)
            {
                var r = recovered.Get(B(key));
                Assert.True(r.Status == ReadStatus.Found, $"round {round}: acknowledged key {key} is {r.Status} after the crash");
                Assert.Equal(ValueOf(key), r.Value);
            }
            using var scan = recovered.Scan(default, default);
            var pairs = new Dictionary<string, bool>();
            while (scan.MoveNext())
            {
                var key = Encoding.UTF8.GetString(scan.Key);
                Assert.Equal(ValueOf(key), scan.Value.ToArray());
                if (key.EndsWith('a') || key.EndsWith('b')) pairs[key] = true;
            }
            foreach (var key in pairs.Keys)
            {
                var partner = key[..^1] + (key.EndsWith('a') ? "b" : "a");
                Assert.True(pairs.ContainsKey(partner), $"round {round}: batch half {key} survived without {partner}");
            }
        }
    }

    /// <summary>The crashed instance is gone: release its lock without letting it sync anything new.</summary>
    private static void AbandonAfterCrash(Database db)
    {
        try
        {
            db.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // closing files of a crashed file system may fail; the lock is released regardless
        }
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] ValueOf(string key) => Encoding.UTF8.GetBytes($"value-of-{key}-{new string('x', key.Length * 3)}");
}
