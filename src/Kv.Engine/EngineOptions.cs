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

    /// <summary>Memtable size at which it becomes immutable and is flushed to an L0 table.</summary>
    public long MemtableSizeBytes { get; set; } = 64L * 1024 * 1024;

    public int BlockSize { get; set; } = 4096;

    public int BloomBitsPerKey { get; set; } = 10;

    /// <summary>LZ4-compress table blocks (kept uncompressed when that does not save space).</summary>
    public bool Compression { get; set; } = true;

    public long BlockCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>"Now" for expiry checks.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(FileSystem, nameof(FileSystem));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (MemtableSizeBytes < 1024) throw new ArgumentOutOfRangeException(nameof(MemtableSizeBytes), MemtableSizeBytes, "the memtable size must be at least 1 KiB");
        if (BlockSize < 256) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "the block size must be at least 256 bytes");
        if (BloomBitsPerKey < 0) throw new ArgumentOutOfRangeException(nameof(BloomBitsPerKey), BloomBitsPerKey, "bloom bits per key cannot be negative");
        if (BlockCacheBytes < 0) throw new ArgumentOutOfRangeException(nameof(BlockCacheBytes), BlockCacheBytes, "the block cache size cannot be negative");
        if (PeriodicSyncInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PeriodicSyncInterval), PeriodicSyncInterval, "the periodic sync interval must be positive");
    }
}
