using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>
/// Membership events from a <see cref="Gossiper"/>. Subscribe with <see cref="Gossiper.Register"/>; every
/// method has an empty default so a subscriber implements only what it needs.
/// </summary>
/// <remarks>
/// Delivered in the order they happened, one at a time (never concurrently with each other), on whichever
/// thread made the change (a transport thread, the gossip timer, or the simulation loop), after the gossiper
/// released its lock: a listener may call back into the gossiper. A listener must not block.
/// A join, leave or removal is visible as <see cref="OnChange"/> of <see cref="ApplicationState.Status"/>.
/// </remarks>
public interface IEndpointStateListener
{
    /// <summary>An endpoint was learned for the first time (or again after a restart).</summary>
    void OnJoin(NodeAddress endpoint, EndpointState state) { }

    /// <summary>An application state of <paramref name="endpoint"/> changed.</summary>
    void OnChange(NodeAddress endpoint, ApplicationState key, VersionedValue value) { }

    /// <summary>The failure detector sees the endpoint up (again).</summary>
    void OnAlive(NodeAddress endpoint, EndpointState state) { }

    /// <summary>The failure detector convicted the endpoint, or it left.</summary>
    void OnDead(NodeAddress endpoint, EndpointState state) { }

    /// <summary>The endpoint restarted: a new generation replaced its state.</summary>
    void OnRestart(NodeAddress endpoint, EndpointState state) { }

    /// <summary>The endpoint was forgotten (it left or was removed, and the quarantine delay passed).</summary>
    void OnRemove(NodeAddress endpoint) { }
}
