using Kv.Engine.Compaction;
using Kv.Engine.IO;
using Kv.Engine.Wal;
using Xunit.Abstractions;

namespace Kv.Engine.Tests.Compaction;

/// <summary>The write side of the trade-off docs/compaction.md describes, on one workload: size-tiered rewrites each
/// byte fewer times than leveled. Figures go to the test output.</summary>
public class WriteAmplificationTests(ITestOutputHelper output)
{
    private EngineStats Load(CompactionStyle style)
    {
        var fs = new InMemoryFileSystem();
        using var db = Database.Open("/db", new EngineOptions
        {
            FileSystem = fs,
            SyncMode = WalSyncMode.Periodic,
            MemtableSizeBytes = 128 * 1024,
            LevelBaseBytes = 512 * 1024,
            TargetFileSizeBytes = 128 * 1024,
            CompactionStyle = style,
            BlockCacheBytes = 1 << 20,
        });
        var rng = new Random(1);
        var key = new byte[16];
        var value = new byte[100];
        for (var i = 0; i < 100_000; i++)
        {
            rng.NextBytes(key.AsSpan(0, 3)); // 16M possible keys: mostly inserts, some overwrites
            rng.NextBytes(value.AsSpan(0, 50)); // half random: compresses about 2:1
            db.Put(key, value, i + 1);
        }
        db.Flush();
        db.CompactUntilIdle();
        var s = db.GetStats();
        output.WriteLine($"{style}: write amplification {s.WriteAmplification:F2} (user {s.BytesWritten} B, flushed {s.BytesFlushed} B, compacted {s.CompactionBytesWritten} B in {s.CompactionCount} compactions); tables per level [{string.Join(", ", s.FilesPerLevel)}]");
        return s;
    }

    [Fact]
    public void CompactUntilIdle_SameWorkload_SizeTieredRewritesLessThanLeveled()
    {
        var leveled = Load(CompactionStyle.Leveled);
        var tiered = Load(CompactionStyle.SizeTiered);
        Assert.True(tiered.WriteAmplification < leveled.WriteAmplification,
            $"size-tiered {tiered.WriteAmplification:F2}, leveled {leveled.WriteAmplification:F2}");
    }
}
