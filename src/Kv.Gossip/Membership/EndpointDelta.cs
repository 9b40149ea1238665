using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>
/// The part of one endpoint's state the receiver lacks: always the heartbeat, and the application states
/// newer than the version the receiver has.
/// <code>
/// endpointDelta := endpoint | generation: varint | heartbeatVersion: varint | count: varint | state*count
/// state         := key: u8 | version: varint | value: string
/// </code>
/// </summary>
public sealed record EndpointDelta(NodeAddress Endpoint, HeartbeatState Heartbeat, IReadOnlyList<KeyValuePair<ApplicationState, VersionedValue>> States)
{
    internal static void Write(GossipWriter w, NodeAddress endpoint, EndpointState state, long newerThan)
    {
        w.WriteEndpoint(endpoint, state);
        w.WriteVarint(state.Generation);
        w.WriteVarint(state.HeartbeatVersion);
        var states = state.States;
        if (newerThan >= state.StatesMaxVersion)
        {
            // Only the heartbeat is newer (the usual case): no state to count, and the map is not touched.
            w.WriteVarint(0UL);
            return;
        }
        var count = 0;
        foreach (var kv in states) if (kv.Value.Version > newerThan) count++;
        w.WriteVarint((ulong)count);
        foreach (var kv in states)
        {
            if (kv.Value.Version <= newerThan) continue;
            w.WriteByte((byte)kv.Key);
            w.WriteVarint(kv.Value.Version);
            w.WriteString(kv.Value.Value);
        }
    }

    internal static EndpointDelta Read(ref GossipReader r)
    {
        var endpoint = r.ReadEndpoint();
        var heartbeat = new HeartbeatState(r.ReadNonNegative(), r.ReadNonNegative());
        var count = r.ReadCount(3);
        var states = count == 0 ? [] : new KeyValuePair<ApplicationState, VersionedValue>[count];
        for (var i = 0; i < count; i++)
        {
            var key = (ApplicationState)r.ReadByte();
            var version = r.ReadNonNegative();
            states[i] = new(key, new VersionedValue(r.ReadString(), version));
        }
        return new EndpointDelta(endpoint, heartbeat, states);
    }
}
