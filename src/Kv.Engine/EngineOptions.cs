using Kv.Engine.Compaction;
using Kv.Engine.IO;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;

namespace Kv.Engine;

/// <summary>Options of <see cref="Database.Open"/>. Read once at open; changing them afterwards has no effect.</summary>
public sealed class EngineOptions
{
    public IFileSystem FileSystem { get; set; } = LocalFileSystem.Instance;

    /// <summary>PerWrite (default): a write returns only once its WAL record is on stable storage (group commit
    /// shares one fsync among every writer waiting). Periodic: the WAL is synced every
    /// <see cref="PeriodicSyncInterval"/>; a crash may lose the writes of the last interval.</summary>
    public WalSyncMode SyncMode { get; set; } = WalSyncMode.PerWrite;

    public TimeSpan PeriodicSyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Write the WAL with O_DIRECT where the file system supports it (falls back to buffered + fdatasync).</summary>
    public bool UseDirectIO { get; set; } = true;

    /// <summary>How far ahead of its appends the WAL file is kept written with zeros (capped at
    /// <see cref="MemtableSizeBytes"/>, about one WAL's size), so each group commit's fdatasync commits only the
    /// data; 0 lets appends grow the file. See docs/formats/wal.md, "Preallocation".</summary>
    public long WalPreallocateBytes { get; set; } = DefaultWalPreallocateBytes;

    public const long DefaultWalPreallocateBytes = WalOptions.DefaultPreallocateBytes;

    /// <summary>Memtable size at which it becomes immutable and is flushed to an L0 table.</summary>
    public long MemtableSizeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Ask the kernel (Linux) to back the memtable's arena and hash index with transparent huge pages, so
    /// its random accesses miss the TLB far less (gets from a large memtable 10-25 % faster). Only advice: the kernel's
    /// transparent_hugepage setting decides. Default true.</summary>
    public bool MemtableHugePages { get; set; } = true;

    public int BlockSize { get; set; } = 4096;

    public int BloomBitsPerKey { get; set; } = 10;

    /// <summary>LZ4-compress table blocks (kept uncompressed when that does not save space).</summary>
    public bool Compression { get; set; } = true;

    public long BlockCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>A flush puts the data blocks it writes into the block cache (uncompressed, as reads would), so keys
    /// that were read from the memtable until the flush stay a cache hit afterwards instead of costing a file read,
    /// a checksum and a decompression on their first read. Compaction output is not cached: it is mostly older data.
    /// Default true; turn off when recent writes are rarely read.</summary>
    public bool PrepopulateBlockCacheOnFlush { get; set; } = true;

    /// <summary>Table files kept open at most (each open table also pins its index and Bloom filter in memory), least
    /// recently used closed first; a table in use by a read, scan or compaction stays open meanwhile, so the count
    /// can pass the limit while that many are in use at once. 0 (default): every live table stays open, and point
    /// reads take no lock to reach a table.</summary>
    public int MaxOpenTables { get; set; }

    /// <summary>"Now" for expiry checks.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Leveled (default: low read and space amplification) or size-tiered (low write amplification).
    /// See docs/compaction.md.</summary>
    public CompactionStyle CompactionStyle { get; set; } = CompactionStyle.Leveled;

    /// <summary>No background compaction thread and no write stalls; <see cref="Database.CompactOnce"/> still works.</summary>
    public bool DisableAutoCompaction { get; set; }

    /// <summary>Leveled: L0 table count that triggers an L0 → L1 compaction.</summary>
    public int Level0CompactionTrigger { get; set; } = 4;

    /// <summary>L0 table count at which every memtable rotation is delayed by <see cref="SlowdownDelay"/>.</summary>
    public int Level0SlowdownWritesTrigger { get; set; } = 20;

    /// <summary>L0 table count at which writers wait (once the memtable is full) until compaction catches up.</summary>
    public int Level0StopWritesTrigger { get; set; } = 36;

    public TimeSpan SlowdownDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Pending compaction bytes (<see cref="EngineStats.PendingCompactionBytes"/>) at which memtable switches are delayed.</summary>
    public long SoftPendingCompactionBytesLimit { get; set; } = 64L * 1024 * 1024 * 1024;

    /// <summary>Pending compaction bytes at which writers wait (once the memtable is full) for compaction to catch up.</summary>
    public long HardPendingCompactionBytesLimit { get; set; } = 256L * 1024 * 1024 * 1024;

    /// <summary>Leveled: target size of L1; each deeper level is 10 times larger.</summary>
    public long LevelBaseBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Leveled: compaction output is cut into tables of about this size.</summary>
    public long TargetFileSizeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Size-tiered: tables of similar size merged together at least / at most.</summary>
    public int SizeTieredMinThreshold { get; set; } = 4;

    public int SizeTieredMaxThreshold { get; set; } = 32;

    /// <summary>
    /// Whether requests are being served right now (the node's request threads; null: never). While it says so and a
    /// flush is not urgent, the flush pauses 1 ms after every <see cref="FlushPaceEntries"/> entries, so a flush started
    /// by a burst of writes takes little CPU from the reads that follow it on a small machine (docs/engine.md, "Flush
    /// pacing"). Urgent, and so never paced: a writer or <see cref="Database.Flush"/> waiting for it, writes coming in (the
    /// active memtable grew within the last 50 ms), the active memtable half full (the flush must end before it fills),
    /// or closing. Called from the flush thread; must be cheap.
    /// </summary>
    public Func<bool>? ForegroundBusy { get; set; }

    /// <summary>Entries a paced flush writes between two checks of <see cref="ForegroundBusy"/>.</summary>
    public int FlushPaceEntries { get; set; } = 64;

    /// <summary>How long after the last write a flush may be paced: writes land in group commits a millisecond or two
    /// apart, so "no write since the last check" would say nothing. Tests shorten it.</summary>
    internal TimeSpan FlushPaceWriteQuiet { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Compaction write budget in bytes per second; 0 = unlimited.</summary>
    public long CompactionRateLimitBytesPerSecond { get; set; }

    /// <summary>A tombstone is kept at least this long (wall-clock age of its timestamp), so replicas that missed
    /// the delete learn of it through repair before it can vanish.</summary>
    public TimeSpan TombstoneGracePeriod { get; set; } = TimeSpan.FromDays(10);

    /// <summary>Reads a version timestamp as unix milliseconds, for the grace period (default: hybrid logical clock,
    /// 48 bits of milliseconds above 16 bits of counter).</summary>
    public Func<long, long> TimestampToUnixMs { get; set; } = Compaction.TombstonePurgePolicy.HybridTimestampToUnixMs;

    /// <summary>Optional "repaired up to" watermark: only tombstones with a timestamp below it may be purged
    /// (the node ties it to anti-entropy). Null: the grace period alone decides.</summary>
    public Func<long>? RepairedUpToTimestamp { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(FileSystem, nameof(FileSystem));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (MemtableSizeBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MemtableSizeBytes), MemtableSizeBytes, "the memtable size must be at least 1 KiB");
        if (FlushPaceEntries < 1) throw new ArgumentOutOfRangeException(nameof(FlushPaceEntries), FlushPaceEntries, "a paced flush must write at least one entry between two checks");
        if (BlockSize < 256) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "the block size must be at least 256 bytes");
        if (BloomBitsPerKey < 0) throw new ArgumentOutOfRangeException(nameof(BloomBitsPerKey), BloomBitsPerKey, "bloom bits per key cannot be negative");
        if (MaxOpenTables < 0) throw new ArgumentOutOfRangeException(nameof(MaxOpenTables), MaxOpenTables, "the open table limit cannot be negative (0 = unlimited)");
        if (BlockCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(BlockCacheBytes), BlockCacheBytes, "the block cache size cannot be negative");
        if (Level0CompactionTrigger < 1) throw new ArgumentOutOfRangeException(nameof(Level0CompactionTrigger), Level0CompactionTrigger, "the L0 compaction trigger must be at least 1");
        if (Level0SlowdownWritesTrigger < Level0CompactionTrigger) throw new ArgumentOutOfRangeException(nameof(Level0SlowdownWritesTrigger), Level0SlowdownWritesTrigger, "the L0 slowdown trigger must be at least the L0 compaction trigger");
        if (Level0StopWritesTrigger < Level0SlowdownWritesTrigger) throw new ArgumentOutOfRangeException(nameof(Level0StopWritesTrigger), Level0StopWritesTrigger, "the L0 stop trigger must be at least the L0 slowdown trigger");
        if (SlowdownDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(SlowdownDelay), SlowdownDelay, "the slowdown delay cannot be negative");
        if (SoftPendingCompactionBytesLimit < 1 || HardPendingCompactionBytesLimit < SoftPendingCompactionBytesLimit) throw new ArgumentOutOfRangeException(nameof(HardPendingCompactionBytesLimit), HardPendingCompactionBytesLimit, "pending compaction byte limits need 1 <= soft <= hard");
        if (LevelBaseBytes < 1024) throw new ArgumentOutOfRangeException(nameof(LevelBaseBytes), LevelBaseBytes, "the level base size must be at least 1 KiB");
        if (TargetFileSizeBytes < 1024) throw new ArgumentOutOfRangeException(nameof(TargetFileSizeBytes), TargetFileSizeBytes, "the target file size must be at least 1 KiB");
        if (SizeTieredMinThreshold < 2 || SizeTieredMaxThreshold < SizeTieredMinThreshold) throw new ArgumentOutOfRangeException(nameof(SizeTieredMinThreshold), SizeTieredMinThreshold, "size-tiered thresholds need 2 <= min <= max");
        if (CompactionRateLimitBytesPerSecond < 0) throw new ArgumentOutOfRangeException(nameof(CompactionRateLimitBytesPerSecond), CompactionRateLimitBytesPerSecond, "the compaction rate limit cannot be negative (0 = unlimited)");
        if (TombstoneGracePeriod < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TombstoneGracePeriod), TombstoneGracePeriod, "the tombstone grace period cannot be negative");
        ArgumentNullException.ThrowIfNull(TimestampToUnixMs, nameof(TimestampToUnixMs));
        if (PeriodicSyncInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PeriodicSyncInterval), PeriodicSyncInterval, "the periodic sync interval must be positive");
    }
}
