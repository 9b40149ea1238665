using System.Runtime.CompilerServices;

namespace Kv.Node.Storage;

/// <summary>
/// Per lock stripe, the blind writes (plain SET, MSET) handed to the engine and not yet applied, so that a
/// read-modify-write that takes the stripe's lock first waits for them: it must read every write that was acknowledged,
/// or could be, before it started.
/// </summary>
/// <remarks>
/// Without this an INCR could read the old count, a SET of the same key could be handed to the engine and acknowledged,
/// and the INCR's write, timestamped after the SET's, would then bury it: an acknowledged SET lost, and an INCR that was
/// not atomic. The engine makes a write visible only when its group commit is applied, so "handed off" is not "readable".
/// <para>
/// The protocol between a blind writer and a lock holder on one stripe (a Dekker handshake, both sides fenced):
/// the writer increments the stripe's count, then looks at the lock; the lock holder takes the lock, then looks at the
/// count. At least one sees the other. A writer that finds the lock free takes its timestamp only after that (a
/// timestamp taken before could be older than the write of a holder that came and went meanwhile, and lose to it);
/// one that finds the lock held undoes its increment and takes the lock itself
/// (<c>EngineKeyspace</c>'s slow path), timestamping its write under it, so after the holder's write. A holder that
/// finds writes in flight waits until the count drains to zero; no new blind write can start on the stripe meanwhile,
/// since each would find the lock held. A blind write costs two interlocked operations and an uncontended lock to join
/// its group commit's entry (<see cref="Track"/>); counts are ended lazily, nothing runs when a write completes.
/// </para>
/// Threading: thread-safe. <see cref="DrainAsync"/> is called only by the stripe lock's holder, so at most one waiter per
/// stripe exists at a time.
/// </remarks>
internal sealed class BlindWrites(int stripes)
{
    private readonly int[] _inFlight = new int[stripes];
    private readonly Lock _pendingLock = new();
    private readonly List<Group> _pending = []; // groups whose writes are still counted (guarded by _pendingLock)

    /// <summary>The group this thread last tracked a write in: a connection's thread tracks its pipelined writes, which
    /// mostly share a group, without touching anything another core writes.</summary>
    [ThreadStatic] private static Group? t_group;

    /// <summary>Blind writes of <paramref name="stripe"/> counted and not yet ended.</summary>
    public int InFlight(int stripe) => Volatile.Read(ref _inFlight[stripe]);

    /// <summary>Counts a blind write on <paramref name="stripe"/> unless <paramref name="stripeLock"/> is held: then nothing is
    /// counted and the caller must take the lock (see the type's remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnter(int stripe, SemaphoreSlim stripeLock)
    {
        Interlocked.Increment(ref _inFlight[stripe]); // a full fence: the lock is read after the count is published
        if (stripeLock.CurrentCount > 0) return true;
        Exit(stripe);
        return false;
    }

    /// <summary>Counts a blind write on <paramref name="stripe"/> whose lock the caller holds.</summary>
    public void Enter(int stripe) => Interlocked.Increment(ref _inFlight[stripe]);

    /// <summary>Ends a counted write (applied, failed, or never handed off).</summary>
    public void Exit(int stripe) => Interlocked.Decrement(ref _inFlight[stripe]);

    /// <summary>Called by the holder of <paramref name="stripe"/>'s lock right after taking it: completes when every blind
    /// write counted on the stripe before has ended.</summary>
    public ValueTask DrainAsync(int stripe)
    {
        Interlocked.MemoryBarrier(); // the count is read after the lock was taken (the other half of TryEnter's fence)
        return Volatile.Read(ref _inFlight[stripe]) == 0 ? default : DrainPendingAsync(stripe);
    }

    private async ValueTask DrainPendingAsync(int stripe)
    {
        var waiting = new List<Task>();
        while (true)
        {
            waiting.Clear();
            lock (_pendingLock)
            {
                EndCompletedLocked();
                foreach (var group in _pending) waiting.Add(group.Task);
            }
            if (Volatile.Read(ref _inFlight[stripe]) == 0) return;
            // A write counted but not yet in a group (between its TryEnter and its Track, on another thread) is the one
            // case with nothing to wait on; it is a few instructions away.
            if (waiting.Count == 0) await Task.Delay(1).ConfigureAwait(false);
            else await Task.WhenAny(waiting).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Ends the count of a write on <paramref name="stripe"/> once the engine's task for it (<paramref name="write"/>)
    /// has completed, and returns that task for the caller to await as before.
    /// </summary>
    /// <remarks>
    /// Nothing runs when the task completes: counts are ended lazily, by whoever next looks at the pending groups (a
    /// thread starting a new group, or a read-modify-write waiting for its stripe). The writes of one group commit share
    /// one task (the WAL's), so a thread adds its writes to one entry per group. A continuation per write cost the engine
    /// a thread-pool item per write (the WAL's task runs continuations asynchronously): ~10 % more node CPU per
    /// pipelined SET; a continuation per group and thread still cost ~10 %, each a thread-pool wake on this machine.
    /// </remarks>
    public ValueTask Track(ValueTask write, int stripe)
    {
        if (write.IsCompleted)
        {
            Exit(stripe);
            return write;
        }
        var task = write.AsTask(); // the very task when the write is task-backed, as the engine's durable writes are
        var group = t_group;
        if (group is null || group.Owner != this || !ReferenceEquals(group.Task, task))
        {
            t_group = group = new Group(this, task);
            lock (_pendingLock)
            {
                EndCompletedLocked(); // keeps the list as short as the groups in flight
                _pending.Add(group);
            }
        }
        var counted = false;
        lock (group) // contended only when another thread ends the group
        {
            if (!group.Ended)
            {
                group.Stripes.Add(stripe);
                counted = true;
            }
        }
        if (!counted) Exit(stripe); // its group was ended already: its task has completed
        return new ValueTask(task);
    }

    /// <summary>Ends every pending group whose task has completed. Under <c>_pendingLock</c>.</summary>
    private void EndCompletedLocked()
    {
        for (var i = _pending.Count - 1; i >= 0; i--)
        {
            var group = _pending[i];
            if (!group.Task.IsCompleted) continue;
            _pending.RemoveAt(i);
            lock (group) group.Ended = true; // a later Track for this group ends its count itself
            foreach (var stripe in group.Stripes) Exit(stripe);
        }
    }

    /// <summary>One engine task (a group commit) and the stripes of the blind writes one thread tracked in it (another
    /// thread's writes of the same group have their own entry). Guarded by its own lock until <see cref="Ended"/>; read
    /// only by the one who ended it after that.</summary>
    private sealed class Group(BlindWrites owner, Task task)
    {
        public readonly BlindWrites Owner = owner;
        public readonly Task Task = task;
        public readonly List<int> Stripes = [];
        public bool Ended;
    }
}
