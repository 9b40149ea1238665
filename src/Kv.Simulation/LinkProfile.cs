namespace Kv.Simulation;

/// <summary>
/// How one direction of a network link behaves: latency = <see cref="BaseLatency"/> + a sample from an
/// exponential distribution with mean <see cref="MeanJitter"/> (so most messages are quick and a few are
/// slow, as on real networks), capped at <see cref="MaxLatency"/>; each message is lost with probability
/// <see cref="DropProbability"/>. Immutable.
/// </summary>
public sealed record LinkProfile
{
    public TimeSpan BaseLatency { get; init; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan MeanJitter { get; init; } = TimeSpan.FromMilliseconds(1);

    public TimeSpan MaxLatency { get; init; } = TimeSpan.FromMilliseconds(500);

    public double DropProbability { get; init; }

    /// <summary>A LAN: about 1-2 ms, no loss.</summary>
    public static LinkProfile Lan { get; } = new();

    /// <summary>A bad but working network: 5-200 ms with heavy tail, 5% loss.</summary>
    public static LinkProfile Jittery { get; } = new()
    {
        BaseLatency = TimeSpan.FromMilliseconds(5),
        MeanJitter = TimeSpan.FromMilliseconds(40),
        MaxLatency = TimeSpan.FromMilliseconds(400),
        DropProbability = 0.05,
    };

    internal long SampleLatencyTicks(Random random)
    {
        var jitter = -Math.Log(1.0 - random.NextDouble()) * MeanJitter.Ticks;
        return Math.Min(BaseLatency.Ticks + (long)jitter, MaxLatency.Ticks);
    }
}
