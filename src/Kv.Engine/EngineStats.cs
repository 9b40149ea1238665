namespace Kv.Engine;

/// <summary>A point-in-time picture of the engine (see <see cref="Database.GetStats"/>).</summary>
public sealed class EngineStats
{
    /// <summary>Arena bytes of the mutable memtable.</summary>
    public long MemtableBytes { get; init; }

    /// <summary>Arena bytes of the memtable being flushed (0 if none).</summary>
    public long ImmutableMemtableBytes { get; init; }

    /// <summary>Memory of flushed memtables kept for the next ones (arena chunks and index slots, at most one
    /// memtable's worth): reserved, not in use.</summary>
    public long MemtablePoolBytes { get; init; }

    /// <summary>Arena chunks a new memtable took from flushed ones instead of fresh memory, since open.</summary>
    public long MemtableChunksReused { get; init; }

    /// <summary>Live table files per level (index = level).</summary>
    public IReadOnlyList<int> FilesPerLevel { get; init; } = [];

    /// <summary>Bytes of live table files per level.</summary>
    public IReadOnlyList<long> BytesPerLevel { get; init; } = [];

    /// <summary>Bytes appended to the current WAL file.</summary>
    public long WalBytes { get; init; }

    /// <summary>Memtable flushes completed since open.</summary>
    public long FlushCount { get; init; }

    /// <summary>Pauses flushes made to leave the CPU to requests since open (<see cref="EngineOptions.ForegroundBusy"/>),
    /// each about 1 ms.</summary>
    public long FlushPauses { get; init; }

    /// <summary>Encoded batch bytes accepted by writes since open (user data written).</summary>
    public long BytesWritten { get; init; }

    /// <summary>Bytes of table files written by flushes since open.</summary>
    public long BytesFlushed { get; init; }

    /// <summary>Times a writer had to wait because the previous memtable was still flushing, or because L0 reached
    /// the stop threshold (<see cref="EngineOptions.Level0StopWritesTrigger"/>) while a compaction was due.</summary>
    public long WriteStalls { get; init; }

    /// <summary>WAL syncs since open, summed over every WAL file, as the WAL counted them: in PerWrite mode each makes
    /// one group durable, whether its writes came through <see cref="Database.Write"/> (the commit queue) or
    /// <see cref="Database.WriteAsync"/> (the WAL's own grouping); in Periodic mode they are the timer's syncs.</summary>
    public long GroupCommits { get; init; }

    /// <summary>WAL file writes since open (one per group; a Periodic WAL writes on its timer).</summary>
    public long WalWrites { get; init; }

    /// <summary>WAL sync (fdatasync) durations since open, in µs: median, 99th and 99.9th percentile (each the upper
    /// bound of its histogram bucket, at most a quarter above the true value; <see cref="LatencyHistogram"/>) and
    /// the longest. 0 before the first sync.</summary>
    public long WalSyncP50Micros { get; init; }

    /// <inheritdoc cref="WalSyncP50Micros"/>
    public long WalSyncP99Micros { get; init; }

    /// <inheritdoc cref="WalSyncP50Micros"/>
    public long WalSyncP999Micros { get; init; }

    /// <inheritdoc cref="WalSyncP50Micros"/>
    public long WalSyncMaxMicros { get; init; }

    /// <summary>Write batches accepted since open, by Write and WriteAsync (GroupedWrites / GroupCommits = writes per fsync).</summary>
    public long GroupedWrites { get; init; }

    /// <summary>Block cache hit rate (0..1).</summary>
    public double BlockCacheHitRate { get; init; }

    /// <summary>Table files open now (with <see cref="EngineOptions.MaxOpenTables"/> = 0: every live table).</summary>
    public int OpenTables { get; init; }

    /// <summary>Table cache lookups that found the table open / had to open it (0 without a table cache).</summary>
    public long TableCacheHits { get; init; }

    public long TableCacheMisses { get; init; }

    /// <summary>An estimate of live keys: the memtables' distinct keys (tombstoned ones included; every entry once a
    /// memtable's lookup index has overflowed) plus table entries minus table tombstones. Counts a key once per table or
    /// memtable holding a version of it, so overwrites not yet compacted make it high.</summary>
    public long EstimatedEntries { get; init; }

    /// <summary>Values with an expiry across memtables and tables, counted as <see cref="EstimatedEntries"/> is (older
    /// versions and expired values not compacted away yet included; tables written before the count existed add none).</summary>
    public long EstimatedExpiringEntries { get; init; }

    /// <summary>The mean expiry (unix ms) of the values <see cref="EstimatedExpiringEntries"/> counts; 0 when none.</summary>
    public long EstimatedMeanExpiresAtUnixMs { get; init; }

    /// <summary>Compactions completed.</summary>
    public long CompactionCount { get; init; }

    /// <summary>Bytes of input tables compactions read.</summary>
    public long CompactionBytesRead { get; init; }

    /// <summary>Bytes of tables compactions wrote.</summary>
    public long CompactionBytesWritten { get; init; }

    /// <summary>(bytes flushed + bytes compacted) / bytes written by users; 0 before the first write.</summary>
    public double WriteAmplification { get; init; }

    /// <summary>Highest compaction score (&gt;= 1: a compaction is due).</summary>
    public double CompactionScore { get; init; }

    /// <summary>Bytes of the tables the next due compactions would rewrite (estimate).</summary>
    public long PendingCompactionBytes { get; init; }

    /// <summary>Memtable rotations delayed because L0 passed the slowdown threshold.</summary>
    public long WriteSlowdowns { get; init; }

    /// <summary>Total time memtable switches waited on L0 backpressure (slowdowns and stops; see docs/compaction.md).</summary>
    public TimeSpan StallTime { get; init; }

    /// <summary>Point reads (Get, TryGet) since open.</summary>
    public long PointReads { get; init; }

    /// <summary>Tables point reads had to probe: key range covers the key and max timestamp not below the version
    /// already found.</summary>
    public long PointReadTablesConsidered { get; init; }

    /// <summary>Tables point reads skipped because their max timestamp is below the version already found.</summary>
    public long PointReadTablesSkippedByTimestamp { get; init; }

    /// <summary>Bloom filter probes by point reads (one per table considered, before any block of it is read).</summary>
    public long BloomFilterChecks { get; init; }

    /// <summary>Probes where the filter ruled the key out, so no block was read (RocksDB: bloom filter useful).</summary>
    public long BloomFilterNegatives { get; init; }

    /// <summary>Probes the filter let through for a key the table did not hold.</summary>
    public long BloomFilterFalsePositives { get; init; }

    /// <summary>Data blocks point reads loaded (block cache or file).</summary>
    public long PointReadBlocks { get; init; }

    /// <summary>Read amplification: data blocks loaded per point read (0 before the first read). Memtable hits load none.</summary>
    public double ReadAmplification => PointReads > 0 ? (double)PointReadBlocks / PointReads : 0;

    /// <summary>Tables probed (filter checked) per point read.</summary>
    public double TablesProbedPerRead => PointReads > 0 ? (double)BloomFilterChecks / PointReads : 0;

    /// <summary>The last <see cref="Database.Scrub"/> since open that ran to the end (null: none).</summary>
    public ScrubReport? LastScrub { get; init; }

    /// <summary>Share of filter probes that saved a table read (0..1).</summary>
    public double BloomFilterUsefulRate => BloomFilterChecks > 0 ? (double)BloomFilterNegatives / BloomFilterChecks : 0;
}
