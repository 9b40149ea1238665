using Kv.Gossip.FailureDetection;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Tests.FailureDetection;

public class PhiAccrualFailureDetectorTests
{
    private static readonly NodeAddress Peer = new("10.0.0.1", 7000);
    private const long Second = TimeSpan.TicksPerSecond;

    /// <summary>A TimeProvider whose timestamps are ticks, so tests can feed exact times.</summary>
    private sealed class TickClock : TimeProvider
    {
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    private static PhiAccrualFailureDetector Regular(int beats, double every = 1.0, PhiAccrualOptions? options = null)
    {
        var fd = new PhiAccrualFailureDetector(options, new TickClock());
        for (var i = 0; i < beats; i++) fd.Report(Peer, (long)(i * every * Second));
        return fd;
    }

    [Fact]
    public void Phi_GrowsWithSilence_AndCrossesThresholdWhereSilenceBeforeConvictionSays()
    {
        var fd = Regular(100);
        var last = 99 * Second;
        var previous = -1.0;
        for (var ms = 0; ms <= 20_000; ms += 250)
        {
            var phi = fd.Phi(Peer, last + (ms * TimeSpan.TicksPerMillisecond));
            Assert.True(phi >= previous, $"phi fell at {ms} ms");
            previous = phi;
        }
        var silence = fd.SilenceBeforeConviction(Peer)!.Value;
        Assert.True(fd.IsAvailable(Peer, last + silence.Ticks - TimeSpan.TicksPerMillisecond));
        Assert.False(fd.IsAvailable(Peer, last + silence.Ticks + TimeSpan.TicksPerMillisecond));
        Assert.InRange(fd.Phi(Peer, last + silence.Ticks), 7.99, 8.01);
        // Regular 1 s beats: mean 1 s, deviation at its 1 s floor, pause 3 s: 4 s + z(8) x 1 s.
        Assert.Equal(4 + PhiAccrualFailureDetector.ZForPhi(8), silence.TotalSeconds, 2);
    }

    [Fact]
    public void IsAvailable_AgreesWithPhiAgainstThreshold()
    {
        var random = new Random(4);
        var fd = new PhiAccrualFailureDetector(new PhiAccrualOptions { MinStandardDeviation = TimeSpan.FromMilliseconds(100), AcceptableHeartbeatPause = TimeSpan.Zero }, new TickClock());
        long t = 0;
        for (var i = 0; i < 200; i++)
        {
            t += (long)((0.5 + random.NextDouble()) * Second);
            fd.Report(Peer, t);
        }
        for (var ms = 0; ms < 10_000; ms += 7)
        {
            var at = t + (ms * TimeSpan.TicksPerMillisecond);
            var phi = fd.Phi(Peer, at);
            if (Math.Abs(phi - 8) < 0.01) continue; // at the boundary itself the two may round differently
            Assert.Equal(phi <= 8, fd.IsAvailable(Peer, at));
        }
    }

    [Fact]
    public void Phi_IrregularHeartbeats_ToleratesLongerSilenceThanRegularOnes()
    {
        var options = new PhiAccrualOptions { MinStandardDeviation = TimeSpan.FromMilliseconds(50), AcceptableHeartbeatPause = TimeSpan.Zero };
        var regular = Regular(200, options: options);
        var irregular = new PhiAccrualFailureDetector(options, new TickClock());
        long t = 0;
        var random = new Random(1);
        for (var i = 0; i < 200; i++)
        {
            t += (long)((0.2 + (1.6 * random.NextDouble())) * Second); // mean 1 s, widely spread
            irregular.Report(Peer, t);
        }
        Assert.True(irregular.SilenceBeforeConviction(Peer) > regular.SilenceBeforeConviction(Peer) + TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Report_LongPause_NotRecordedSoLaterConvictionStaysFast()
    {
        var fd = Regular(50);
        var before = fd.SilenceBeforeConviction(Peer)!.Value;
        fd.Report(Peer, (49 * Second) + (60 * Second)); // back after a 60 s pause
        Assert.Equal(before, fd.SilenceBeforeConviction(Peer)!.Value);
    }

    [Fact]
    public void Phi_UnknownOrRemovedPeer_IsZeroAndAvailable()
    {
        var fd = Regular(10);
        fd.Remove(Peer);
        Assert.Equal(0, fd.Phi(Peer, 1000 * Second));
        Assert.True(fd.IsAvailable(Peer, 1000 * Second));
        Assert.Null(fd.SilenceBeforeConviction(Peer));
    }

    [Fact]
    public void ZForPhi_Eight_MatchesTheApproximation()
    {
        var z = PhiAccrualFailureDetector.ZForPhi(8);
        Assert.InRange(PhiAccrualFailureDetector.ComputePhi(z, 0, 1), 7.999, 8.001);
        Assert.InRange(z, 5.0, 5.7);
    }
}
