namespace Kv.Gossip.FailureDetection;

/// <summary>Tuning of <see cref="PhiAccrualFailureDetector"/>. Defaults follow Cassandra and Akka.</summary>
public sealed class PhiAccrualOptions
{
    /// <summary>Convict when phi exceeds this. 8 means a false conviction chance of about 1e-8 per check under the model.</summary>
    public double Threshold { get; init; } = 8.0;

    /// <summary>How many inter-arrival intervals each peer's window keeps.</summary>
    public int WindowSize { get; init; } = 1000;

    /// <summary>
    /// Floor for the standard deviation, so a very regular peer is not convicted by a small delay. Heartbeats
    /// arrive relayed by gossip, a few rounds old and irregularly, so the floor is one gossip interval.
    /// </summary>
    public TimeSpan MinStandardDeviation { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Extra silence tolerated on top of the mean (GC pauses; a node's heartbeat news reaching one observer
    /// through several gossip hops, which on a lossy 30-node network leaves silences of 5-6 s now and then).
    /// With the defaults a crashed node is convicted after about 1 + 3 + 5.2 x 1 = 9 s of silence.
    /// </summary>
    public TimeSpan AcceptableHeartbeatPause { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The interval assumed before any has been measured (the gossip interval).</summary>
    public TimeSpan FirstHeartbeatEstimate { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Intervals longer than this are not recorded (the peer was down or paused, which says nothing about
    /// its normal rhythm; recording it would make later convictions slow).
    /// </summary>
    public TimeSpan MaxRecordedInterval { get; init; } = TimeSpan.FromSeconds(8);
}
