using System.Diagnostics;
using System.Runtime.Intrinsics.X86;

namespace Kv.Engine.IO;

/// <summary>
/// Helps a WAL sync's completion reach its waiters on virtual machines that deliver a device's interrupt to a busy
/// vCPU late: WAL writers report their syncs, and threads that compute for long stretches (the flush, compactions,
/// the node's request threads) call <see cref="Nudge"/> every few dozen microseconds of work.
/// </summary>
/// <remarks>
/// On some hypervisors a device's completion interrupt reaches a vCPU only when the vCPU leaves guest mode, which a
/// thread computing on it (system calls and sched_yield included) does not make it do for milliseconds. Measured on
/// this project's machine (2 vCPUs; the virtio disk's interrupt lands on one of them): a 4 KiB O_DIRECT write plus
/// fdatasync takes 0.11 ms (p50) with that vCPU idle and 8-10 ms with a thread spinning on it; a CPUID instruction,
/// which always traps to the hypervisor, every 50 µs of the spin brings it back to 0.13-0.15 ms, and CPUID on the
/// other vCPU does nothing (docs/engine.md, "Background threads and the WAL's syncs"). So while a WAL sync has run
/// longer than <see cref="OverdueAfter"/>, <see cref="Nudge"/> executes one CPUID, at most once per 50 µs per thread:
/// ~3.8 µs in such a VM, a few hundred cycles on bare metal, where nothing needed it. Otherwise a nudge is a volatile
/// read (no sync running) or that and a clock read.
/// <para>One sync is tracked at a time (the last to start); a sync that ends clears it only if it is still the one
/// tracked. That is enough for a hint: the WALs of one database sync one group at a time.</para>
/// </remarks>
public sealed class SyncNudge
{
    /// <summary>The one the engine's WAL writers report to and its background threads nudge through: process-wide,
    /// since every database in the process shares the CPUs.</summary>
    public static SyncNudge Shared { get; } = new();

    /// <summary>Longer than a healthy local fdatasync (0.1 ms on this project's machine) by a margin.</summary>
    public static readonly long OverdueAfter = Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>Shortest time between two nudges of one thread.</summary>
    public static readonly long NudgeInterval = Stopwatch.Frequency / 20000; // 50 µs

    [ThreadStatic] private static long t_lastNudge;
    private long _syncStarted; // Stopwatch ticks when the tracked sync started; 0: none
    private long _nudges;
    private int _sink;

    /// <summary>Traps taken so far (INFO engine <c>engine_sync_nudges</c>).</summary>
    public long Nudges => Interlocked.Read(ref _nudges);

    /// <summary>A WAL sync starts; returns the token to pass to <see cref="SyncEnded"/>: the start's
    /// <see cref="Stopwatch"/> timestamp.</summary>
    public long SyncStarting()
    {
        var now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _syncStarted, now);
        return now;
    }

    /// <summary>The sync <paramref name="token"/> names ended (successfully or not).</summary>
    public void SyncEnded(long token) => Interlocked.CompareExchange(ref _syncStarted, 0, token);

    /// <summary>Whether the tracked WAL sync has been running for longer than <see cref="OverdueAfter"/>.</summary>
    public bool SyncOverdue
    {
        get
        {
            var started = Volatile.Read(ref _syncStarted);
            return started != 0 && Stopwatch.GetTimestamp() - started > OverdueAfter;
        }
    }

    /// <summary><see cref="Nudge"/> on <see cref="Shared"/>, as a method group for callbacks.</summary>
    public static void NudgeShared() => Shared.Nudge();

    /// <summary>If a WAL sync is overdue and this thread has not nudged in the last <see cref="NudgeInterval"/>,
    /// traps to the hypervisor once (x86 only; elsewhere it only counts).</summary>
    public void Nudge()
    {
        var started = Volatile.Read(ref _syncStarted);
        if (started == 0) return;
        var now = Stopwatch.GetTimestamp();
        if (now - started <= OverdueAfter || now - t_lastNudge < NudgeInterval) return;
        t_lastNudge = now;
        Interlocked.Increment(ref _nudges);
        if (X86Base.IsSupported) _sink = X86Base.CpuId(0, 0).Eax;
    }
}
