using Kv.Node.Time;

namespace Kv.Simulation.Cluster;

/// <summary>
/// The HLC high-water mark on a simulated node's disk: kept in <see cref="SimulatedNode.Items"/>, so it survives
/// crashes exactly as the fsynced file of <see cref="FileClockHighWaterMark"/> does (Store returns only when durable).
/// </summary>
/// <remarks>Threading: simulation thread only.</remarks>
public sealed class SimulatedHighWaterMark : IClockHighWaterMark
{
    public long Bound { get; private set; }

    public int Stores { get; private set; }

    public long Load() => Bound;

    public void Store(long unixMs)
    {
        Bound = unixMs;
        Stores++;
    }
}
