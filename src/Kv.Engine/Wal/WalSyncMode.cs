namespace Kv.Engine.Wal;

/// <summary>When a WAL append counts as done.</summary>
public enum WalSyncMode
{
    /// <summary>An append returns only once its record is on stable storage (fdatasync). Concurrent appenders share
    /// one write and one sync (group commit).</summary>
    PerWrite,

    /// <summary>An append returns once its record is in the writer's buffer; every
    /// <see cref="WalOptions.PeriodicSyncInterval"/> the buffer is written and synced. A crash of the process or the
    /// machine may lose the records of the last interval.</summary>
    Periodic,
}
