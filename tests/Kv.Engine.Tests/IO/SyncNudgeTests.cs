using System.Diagnostics;
using Kv.Engine.IO;

namespace Kv.Engine.Tests.IO;

/// <summary>When a busy thread traps for a WAL sync: only while one has run past <see cref="SyncNudge.OverdueAfter"/>,
/// at most once per <see cref="SyncNudge.NudgeInterval"/> per thread, and a sync that ended stops it.</summary>
public class SyncNudgeTests
{
    private static void SpinFor(long ticks)
    {
        var until = Stopwatch.GetTimestamp() + ticks;
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(10);
    }

    [Fact]
    public void Nudge_NoSyncRunning_DoesNothing()
    {
        var nudge = new SyncNudge();
        nudge.Nudge();
        Assert.False(nudge.SyncOverdue);
        Assert.Equal(0, nudge.Nudges);
    }

    [Fact]
    public void Nudge_SyncNotYetOverdue_DoesNothing_ThenOverdue_TrapsOnce()
    {
        var nudge = new SyncNudge();
        var token = nudge.SyncStarting();
        SpinFor(SyncNudge.NudgeInterval); // this thread's last nudge (another test's) is behind it
        if (Stopwatch.GetTimestamp() - token < SyncNudge.OverdueAfter)
        {
            nudge.Nudge();
            Assert.Equal(0, nudge.Nudges);
        }
        SpinFor(SyncNudge.OverdueAfter + 1);
        Assert.True(nudge.SyncOverdue);
        nudge.Nudge();
        Assert.Equal(1, nudge.Nudges);
        nudge.SyncEnded(token);
        Assert.False(nudge.SyncOverdue);
        SpinFor(SyncNudge.NudgeInterval + 1);
        nudge.Nudge();
        Assert.Equal(1, nudge.Nudges);
    }

    [Fact]
    public void Nudge_OneThread_AtMostOncePerInterval()
    {
        // Three nudges in a row normally take a few µs; an attempt whose three took a whole interval (the first call's
        // JIT, a preemption) proves nothing and is repeated.
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var nudge = new SyncNudge();
            nudge.SyncStarting();
            SpinFor(SyncNudge.OverdueAfter + SyncNudge.NudgeInterval + 1);
            var first = Stopwatch.GetTimestamp();
            nudge.Nudge();
            nudge.Nudge();
            nudge.Nudge();
            if (Stopwatch.GetTimestamp() - first >= SyncNudge.NudgeInterval) continue;
            Assert.Equal(1, nudge.Nudges);
            SpinFor(SyncNudge.NudgeInterval + 1);
            nudge.Nudge();
            Assert.Equal(2, nudge.Nudges);
            return;
        }
        Assert.Fail("no attempt made three nudges within one interval");
    }

    [Fact]
    public void SyncEnded_OfAnEarlierSync_LeavesTheLaterOneTracked()
    {
        var nudge = new SyncNudge();
        var earlier = nudge.SyncStarting();
        SpinFor(1);
        var later = nudge.SyncStarting();
        Assert.NotEqual(earlier, later);
        nudge.SyncEnded(earlier);
        SpinFor(SyncNudge.OverdueAfter + 1);
        Assert.True(nudge.SyncOverdue);
        nudge.SyncEnded(later);
        Assert.False(nudge.SyncOverdue);
    }
}
