using System.Globalization;
using Kv.Engine;

namespace Kv.Node.Storage;

/// <summary>
/// Admin operations on this node's own engine, behind SAVE, LASTSAVE and SCRUB (docs/operations.md): checkpoints
/// into &lt;data&gt;/snapshots/&lt;name&gt; (<see cref="Database.CreateCheckpoint"/>: a flush, then hard links to
/// the live tables) and online scrubs (<see cref="Database.Scrub"/>). In a cluster they cover this node's engine,
/// that is the replicas it holds, never the whole cluster.
/// </summary>
/// <remarks>
/// Threading: thread-safe. The engine work runs on a thread-pool thread, never on the caller's (a connection's I/O
/// thread must not sit in a flush or a minutes-long scrub). One checkpoint and one scrub at a time: a second caller
/// is refused with <see cref="InvalidOperationException"/>, not queued. The last results are published whole
/// (<see cref="LastCheckpoint"/>, and the engine's <see cref="EngineStats.LastScrub"/>).
/// </remarks>
public sealed class EngineMaintenance
{
    /// <summary>Longest snapshot name accepted.</summary>
    public const int MaxNameLength = 100;

    private readonly Database _db;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _checkpointing = new(1, 1);
    private readonly SemaphoreSlim _scrubbing = new(1, 1);
    private Snapshot? _last;

    public EngineMaintenance(Database database, string dataDirectory, TimeProvider time)
    {
        _db = database;
        _time = time;
        SnapshotsDirectory = Path.Combine(Path.GetFullPath(dataDirectory), "snapshots");
    }

    /// <summary>A finished checkpoint and when it finished.</summary>
    public sealed record Snapshot(CheckpointResult Checkpoint, DateTimeOffset CompletedAt);

    /// <summary>&lt;data&gt;/snapshots: on the engine's file system, so checkpoints are hard links, not copies.</summary>
    public string SnapshotsDirectory { get; }

    /// <summary>The last checkpoint this process wrote (null: none since start).</summary>
    public Snapshot? LastCheckpoint => Volatile.Read(ref _last);

    /// <summary>A name is one path segment of letters, digits, '.', '-' and '_', not starting with '.'.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > MaxNameLength || name[0] == '.') return false;
        foreach (var ch in name)
        {
            if (!char.IsAsciiLetterOrDigit(ch) && ch is not ('.' or '-' or '_')) return false;
        }
        return true;
    }

    /// <summary>Writes a checkpoint into <see cref="SnapshotsDirectory"/>/<paramref name="name"/> (default: the UTC
    /// time, yyyyMMdd-HHmmss-fff). Every write acknowledged before the call is in it.</summary>
    /// <exception cref="ArgumentException">the name is not valid (<see cref="IsValidName"/>).</exception>
    /// <exception cref="InvalidOperationException">another checkpoint is being written.</exception>
    /// <exception cref="IOException">the target already holds files, or a link/copy failed.</exception>
    public async Task<Snapshot> CreateCheckpointAsync(string? name = null)
    {
        name ??= _time.GetUtcNow().UtcDateTime.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture);
        if (!IsValidName(name))
            throw new ArgumentException($"'{name}' is not a valid snapshot name: use up to {MaxNameLength} letters, digits, '.', '-' or '_', not starting with '.'", nameof(name));
        if (!_checkpointing.Wait(0)) throw new InvalidOperationException("a checkpoint is already being written; retry when it is done");
        try
        {
            var target = Path.Combine(SnapshotsDirectory, name);
            var result = await Task.Run(() => _db.CreateCheckpoint(target)).ConfigureAwait(false);
            var snapshot = new Snapshot(result, _time.GetUtcNow());
            Volatile.Write(ref _last, snapshot);
            return snapshot;
        }
        finally
        {
            _checkpointing.Release();
        }
    }

    /// <summary>Verifies every block of every live table and the manifest (<see cref="Database.Scrub"/>). Damage is
    /// in the report, not thrown.</summary>
    /// <exception cref="InvalidOperationException">another scrub is running.</exception>
    public async Task<ScrubReport> ScrubAsync(CancellationToken cancellationToken = default)
    {
        if (!_scrubbing.Wait(0)) throw new InvalidOperationException("a scrub is already running; its result will show in INFO engine (engine_last_scrub)");
        try
        {
            return await Task.Factory.StartNew(() => _db.Scrub(cancellationToken: cancellationToken), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            _scrubbing.Release();
        }
    }
}
