using Kv.Gossip.Transport;

namespace Kv.Gossip.FailureDetection;

/// <summary>Judges from heartbeat arrival times whether peers are up. Times are <see cref="TimeProvider"/> timestamps.</summary>
public interface IFailureDetector
{
    /// <summary>A heartbeat (or any other evidence of life) from <paramref name="endpoint"/> arrived at <paramref name="timestamp"/>.</summary>
    void Report(NodeAddress endpoint, long timestamp);

    /// <summary>Suspicion level of <paramref name="endpoint"/> at <paramref name="timestamp"/>; 0 when nothing was ever reported.</summary>
    double Phi(NodeAddress endpoint, long timestamp);

    /// <summary>Whether <paramref name="endpoint"/> is considered up at <paramref name="timestamp"/> (phi at or under the threshold).</summary>
    bool IsAvailable(NodeAddress endpoint, long timestamp);

    /// <summary>Forgets the endpoint's history (after a restart with a new generation, or removal).</summary>
    void Remove(NodeAddress endpoint);
}
