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
            new("engine_memtable_pool_bytes", s.MemtablePoolBytes.ToString(inv)),
            new("engine_memtable_chunks_reused", s.MemtableChunksReused.ToString(inv)),
            new("engine_wal_bytes", s.WalBytes.ToString(inv)),
            new("engine_estimated_entries", s.EstimatedEntries.ToString(inv)),
            new("engine_flushes", s.FlushCount.ToString(inv)),
            new("engine_flush_pauses", s.FlushPauses.ToString(inv)),
            new("engine_bytes_written", s.BytesWritten.ToString(inv)),
            new("engine_bytes_flushed", s.BytesFlushed.ToString(inv)),
            new("engine_write_stalls", s.WriteStalls.ToString(inv)),
            // What the WAL did, over both append paths (the commit queue and WriteAsync): syncs are group commits.
            new("engine_group_commits", s.GroupCommits.ToString(inv)),
            new("engine_wal_writes", s.WalWrites.ToString(inv)),
            new("engine_grouped_writes", s.GroupedWrites.ToString(inv)),
            new("engine_writes_per_fsync", (s.GroupCommits == 0 ? 0 : (double)s.GroupedWrites / s.GroupCommits).ToString("0.00", inv)),
            new("engine_wal_sync_p50_us", s.WalSyncP50Micros.ToString(inv)),
            new("engine_wal_sync_p99_us", s.WalSyncP99Micros.ToString(inv)),
            new("engine_wal_sync_p999_us", s.WalSyncP999Micros.ToString(inv)),
            new("engine_wal_sync_max_us", s.WalSyncMaxMicros.ToString(inv)),
            // Process-wide: traps taken to let a late WAL sync completion through (Kv.Engine.IO.SyncNudge).
            new("engine_sync_nudges", Kv.Engine.IO.SyncNudge.Shared.Nudges.ToString(inv)),
            new("engine_block_cache_hit_rate", s.BlockCacheHitRate.ToString("0.0000", inv)),
            new("engine_open_tables", s.OpenTables.ToString(inv)),
            new("engine_table_cache_hits", s.TableCacheHits.ToString(inv)),
            new("engine_table_cache_misses", s.TableCacheMisses.ToString(inv)),
            // Read amplification of point reads (docs/engine.md): totals, then per read.
            new("engine_point_reads", s.PointReads.ToString(inv)),
            new("engine_read_tables_considered", s.PointReadTablesConsidered.ToString(inv)),
            new("engine_read_tables_skipped_by_timestamp", s.PointReadTablesSkippedByTimestamp.ToString(inv)),
            new("engine_bloom_checks", s.BloomFilterChecks.ToString(inv)),
            new("engine_bloom_negatives", s.BloomFilterNegatives.ToString(inv)),
            new("engine_bloom_false_positives", s.BloomFilterFalsePositives.ToString(inv)),
            new("engine_read_blocks", s.PointReadBlocks.ToString(inv)),
            new("engine_tables_probed_per_read", s.TablesProbedPerRead.ToString("0.00", inv)),
            new("engine_blocks_per_read", s.ReadAmplification.ToString("0.00", inv)),
            new("engine_bloom_useful_rate", s.BloomFilterUsefulRate.ToString("0.0000", inv)),
            new("engine_compactions", s.CompactionCount.ToString(inv)),
            new("engine_compaction_bytes_read", s.CompactionBytesRead.ToString(inv)),
            new("engine_compaction_bytes_written", s.CompactionBytesWritten.ToString(inv)),
            new("engine_write_amplification", s.WriteAmplification.ToString("0.00", inv)),
            new("engine_compaction_score", s.CompactionScore.ToString("0.00", inv)),
            new("engine_pending_compaction_bytes", s.PendingCompactionBytes.ToString(inv)),
            new("engine_write_slowdowns", s.WriteSlowdowns.ToString(inv)),
            new("engine_stall_ms", ((long)s.StallTime.TotalMilliseconds).ToString(inv)),
        };
        list.Add(new("engine_last_scrub", s.LastScrub is { } scrub
            ? $"time={scrub.CompletedAt.ToUnixTimeSeconds().ToString(inv)},tables={scrub.TablesChecked.ToString(inv)},blocks={scrub.BlocksChecked.ToString(inv)},bytes={scrub.BytesChecked.ToString(inv)},errors={scrub.Errors.Count.ToString(inv)}"
            : "none"));
        for (var level = 0; level < s.FilesPerLevel.Count; level++)
            list.Add(new($"engine_level{level}", $"files={s.FilesPerLevel[level].ToString(inv)},bytes={s.BytesPerLevel[level].ToString(inv)}"));
        return list;
    }
}
