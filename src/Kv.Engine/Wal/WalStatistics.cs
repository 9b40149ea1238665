namespace Kv.Engine.Wal;

/// <summary>
/// What WAL writers did to their files, summed over every writer created with the same instance
/// (<see cref="WalOptions.Statistics"/>): a database hands one to each WAL it opens, so the counts cover every
/// memtable generation since open and count each group once, whichever append path (sync or async) formed it.
/// </summary>
/// <remarks>Thread-safe: interlocked counters, written by the writers' leaders, read by anyone.</remarks>
public sealed class WalStatistics
{
    private long _writes, _syncs;

    /// <summary>Writes issued to WAL files (one per group).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Syncs (fsync/fdatasync) issued to WAL files: one per group in <see cref="WalSyncMode.PerWrite"/>
    /// mode, one per timer tick with unsynced data in <see cref="WalSyncMode.Periodic"/> mode.</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    internal void OnWrite() => Interlocked.Increment(ref _writes);

    /// <summary>How long each WAL sync (fdatasync) took, in µs.</summary>
    public LatencyHistogram SyncLatency { get; } = new();

    internal void OnSync() => Interlocked.Increment(ref _syncs);
}
