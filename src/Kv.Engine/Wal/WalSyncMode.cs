namespace Kv.Engine.Wal;

/// <summary>When a WAL append counts as done.</summary>
public enum WalSyncMode
{
    /// <summary>An append returns only once its record is on stable storage (fdatasync). Concurrent appenders share
    /// one write and one sync (group commit).</summary>
    PerWrite,

    /// <summary>An append does not wait for a sync; every <see cref="WalOptions.PeriodicSyncInterval"/> a timer
    /// writes what is buffered and syncs. A crash may lose the records of the last interval. (Buffered files hand
    /// each group to the OS at once, so only a machine crash loses them; O_DIRECT files keep them in memory until
    /// the timer, so a process crash loses them too.)</summary>
    Periodic,
}
