using Microsoft.Extensions.Logging;

namespace Kv.Engine.Wal;

/// <summary>Options of <see cref="WalWriter.Create"/>; read once when the writer is created.</summary>
public sealed class WalOptions
{
    public WalSyncMode SyncMode { get; set; } = WalSyncMode.PerWrite;

    /// <summary>How often <see cref="WalSyncMode.Periodic"/> writes and syncs the buffered records.</summary>
    public TimeSpan PeriodicSyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Write with O_DIRECT and aligned buffers when the file system is the local one and accepts it;
    /// otherwise (or when false) buffered writes + fdatasync. The choice is logged.</summary>
    public bool UseDirectIO { get; set; } = true;

    /// <summary>How far ahead of the appends a local log file is kept written with zeros, so that a sync commits only
    /// data, not the file system's block allocation and size change (see <c>PosixWritableFile</c>). 0: appends extend
    /// the file. Applies to the local file system on Linux.</summary>
    public long PreallocateBytes { get; set; } = DefaultPreallocateBytes;

    /// <summary>4 MiB: a piece of zeros takes ~1 ms to write here, so the filler stays far ahead of any append rate.</summary>
    public const long DefaultPreallocateBytes = 4L * 1024 * 1024;

    /// <summary>Drives the periodic sync timer.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public ILogger? Logger { get; set; }

    /// <summary>Where this writer also counts its writes and syncs (shared by several writers; null: only
    /// <see cref="WalWriter.WriteCount"/> and <see cref="WalWriter.SyncCount"/>).</summary>
    public WalStatistics? Statistics { get; set; }
}
