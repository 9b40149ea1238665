using System.Globalization;
using Kv.Engine;

namespace Kv.Node.Storage;

/// <summary>Turns the engine's <see cref="EngineStats"/> into INFO's engine section and DBSIZE's estimate.</summary>
/// <remarks>Stateless and thread-safe; every call takes a fresh snapshot from the database.</remarks>
internal static class EngineStatistics
{
    /// <summary>DBSIZE: the engine's live-entry estimate (documented as an estimate: not-yet-compacted overwrites count twice).</summary>
    public static long EstimateKeys(Database db) => db.GetStats().EstimatedEntries;

    public static List<KeyValuePair<string, string>> Describe(Database db)
    {
        var s = db.GetStats();
        var inv = CultureInfo.InvariantCulture;
        var list = new List<KeyValuePair<string, string>>
        {
            new("engine_memtable_bytes", s.MemtableBytes.ToString(inv)),
            new("engine_immutable_memtable_bytes", s.ImmutableMemtableBytes.ToString(inv)),
            new("engine_wal_bytes", s.WalBytes.ToString(inv)),
            new("engine_estimated_entries", s.EstimatedEntries.ToString(inv)),
            new("engine_flushes", s.FlushCount.ToString(inv)),
            new("engine_bytes_written", s.BytesWritten.ToString(inv)),
            new("engine_bytes_flushed", s.BytesFlushed.ToString(inv)),
            new("engine_write_stalls", s.WriteStalls.ToString(inv)),
            new("engine_group_commits", s.GroupCommits.ToString(inv)),
            new("engine_grouped_writes", s.GroupedWrites.ToString(inv)),
            new("engine_writes_per_fsync", (s.GroupCommits == 0 ? 0 : (double)s.GroupedWrites / s.GroupCommits).ToString("0.00", inv)),
            new("engine_block_cache_hit_rate", s.BlockCacheHitRate.ToString("0.0000", inv)),
            new("engine_compactions", s.CompactionCount.ToString(inv)),
            new("engine_compaction_bytes_read", s.CompactionBytesRead.ToString(inv)),
            new("engine_compaction_bytes_written", s.CompactionBytesWritten.ToString(inv)),
            new("engine_write_amplification", s.WriteAmplification.ToString("0.00", inv)),
            new("engine_compaction_score", s.CompactionScore.ToString("0.00", inv)),
            new("engine_pending_compaction_bytes", s.PendingCompactionBytes.ToString(inv)),
            new("engine_write_slowdowns", s.WriteSlowdowns.ToString(inv)),
            new("engine_stall_ms", ((long)s.StallTime.TotalMilliseconds).ToString(inv)),
        };
        for (var level = 0; level < s.FilesPerLevel.Count; level++)
            list.Add(new($"engine_level{level}", $"files={s.FilesPerLevel[level].ToString(inv)},bytes={s.BytesPerLevel[level].ToString(inv)}"));
        return list;
    }
}
