using System.Text;
using Kv.Engine.Compaction;
using Kv.Engine.IO;
using Kv.Engine.Manifest;

namespace Kv.Engine.Tests.Compaction;

/// <summary>Crashes at every durability step of a compaction (in-memory file system: unsynced bytes and directory
/// changes vanish): every acknowledged write survives with its newest version, deleted keys stay deleted, and no
/// orphan table is left after the reopen.</summary>
public class CompactionCrashTests
{
    [Theory]
    [InlineData(CompactionStyle.Leveled)]
    [InlineData(CompactionStyle.SizeTiered)]
    public void Crash_AtEveryStepOfCompaction_NoAcknowledgedWriteLostAndNoOrphans(CompactionStyle style)
    {
        var crashed = 0;
        for (var step = 1; step < 200; step++)
        {
            if (!RunWithCrashAt(style, step)) break; // the compactions finished before reaching this step
            crashed++;
        }
        Assert.True(crashed > 5, $"only {crashed} crash points inside the compactions");
    }

    /// <summary>Loads a store, compacts it with a crash at <paramref name="step"/>, then checks the recovered store.
    /// Returns false if the compactions completed without reaching the step.</summary>
    private static bool RunWithCrashAt(CompactionStyle style, int step)
    {
        var memory = new InMemoryFileSystem();
        var fs = new CrashPointFileSystem(memory);
        var options = new EngineOptions
        {
            FileSystem = fs,
            MemtableSizeBytes = 4 * 1024,
            BlockSize = 512,
            BlockCacheBytes = 256 * 1024,
            CompactionStyle = style,
            DisableAutoCompaction = true,
            Level0CompactionTrigger = 2,
            LevelBaseBytes = 8 * 1024,
            TargetFileSizeBytes = 4 * 1024,
            SizeTieredMinThreshold = 2,
        };
        var rng = new Random(step);
        var newest = new Dictionary<int, (long Ts, string? Value)>();
        var db = Database.Open("/db", options);
        for (var i = 1; i <= 1500; i++)
        {
            var key = rng.Next(300);
            if (rng.Next(8) == 0)
            {
                db.Delete(Key(key), i);
                newest[key] = (i, null);
            }
            else
            {
                var value = $"{i}-{new string('v', rng.Next(5, 30))}";
                db.Put(Key(key), Encoding.UTF8.GetBytes(value), i); // PerWrite: acknowledged = durable
                newest[key] = (i, value);
            }
        }
        db.Flush();

        fs.Arm(step);
        try
        {
            db.CompactUntilIdle();
        }
        catch (IOException) when (fs.Crashed)
        {
            // the simulated machine died mid-compaction
        }
        fs.Disarm();
        try
        {
            db.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // closing files of a crashed file system may fail
        }
        if (!fs.Crashed) return false;

        using var recovered = Database.Open("/db", options);
        Check(recovered, newest, memory);
        recovered.CompactUntilIdle();
        Check(recovered, newest, memory);
        return true;
    }

    private static void Check(Database db, Dictionary<int, (long Ts, string? Value)> newest, InMemoryFileSystem fs)
    {
        foreach (var (key, (ts, value)) in newest)
        {
            var r = db.Get(Key(key));
            if (value is null)
            {
                Assert.NotEqual(ReadStatus.Found, r.Status);
                continue;
            }
            Assert.True(r.Status == ReadStatus.Found, $"key {key} is {r.Status} after the crash");
            Assert.Equal(ts, r.Timestamp);
            Assert.Equal(value, Encoding.UTF8.GetString(r.Value!));
        }
        var tables = fs.ListFiles("/db").Count(n => FileNames.TryParse(n, out var type, out _) && type == FileType.Table);
        Assert.Equal(db.GetStats().FilesPerLevel.Sum(), tables);
    }

    private static byte[] Key(int i) => Encoding.UTF8.GetBytes($"key-{i:D4}");
}
