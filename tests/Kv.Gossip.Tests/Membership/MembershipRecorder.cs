using Kv.Gossip.Membership;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Tests.Membership;

/// <summary>Records membership events with the virtual time they were delivered at.</summary>
internal sealed class MembershipRecorder(TimeProvider clock) : IEndpointStateListener
{
    public List<(TimeSpan At, string Kind, NodeAddress Endpoint)> Events { get; } = [];

    private TimeSpan Now => TimeSpan.FromTicks(clock.GetTimestamp());

    public void OnJoin(NodeAddress endpoint, EndpointState state) => Events.Add((Now, "join", endpoint));

    public void OnAlive(NodeAddress endpoint, EndpointState state) => Events.Add((Now, "up", endpoint));

    public void OnDead(NodeAddress endpoint, EndpointState state) => Events.Add((Now, "down", endpoint));

    public void OnRestart(NodeAddress endpoint, EndpointState state) => Events.Add((Now, "restart", endpoint));

    public void OnRemove(NodeAddress endpoint) => Events.Add((Now, "remove", endpoint));

    public void OnChange(NodeAddress endpoint, ApplicationState key, VersionedValue value) => Events.Add((Now, $"change {key}={value.Value}", endpoint));

    public int Count(string kind, NodeAddress endpoint) => Events.Count(e => e.Kind == kind && e.Endpoint == endpoint);

    public int Count(string kind) => Events.Count(e => e.Kind == kind);
}
