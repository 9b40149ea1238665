using System.Globalization;
using Kv.Gossip.Membership;
using Kv.Gossip.Ring;

namespace Kv.Node.Cluster.Hosting;

/// <summary>
/// The <c># Ring</c> section of INFO: one line per node this node knows (members of the ring and nodes
/// that are only gossiping), as Redis-style <c>name:field=value,...</c> pairs.
/// <code>
/// ring_nodes:3
/// ring_replication:SimpleStrategy(rf=3)
/// node0:id=n1,address=127.0.0.1:7001,client=127.0.0.1:6379,dc=dc1,rack=rack1,status=NORMAL,state=up,owns=0.3333,tokens=16
/// </code>
/// <c>owns</c> is the fraction of the token space the node holds a replica of, divided by the replication
/// factor (so the values sum to 1 on a balanced ring); <c>state</c> is the failure detector's view.
/// </summary>
public static class RingDescription
{
    public static IReadOnlyList<KeyValuePair<string, string>> Describe(Gossiper gossiper, ClusterRing ring)
    {
        var placement = ring.Current;
        var owned = placement.ReplicatedOwnership();
        var width = Math.Max(1, placement.ReplicationWidth);
        var states = gossiper.GetEndpointStates();
        var lines = new List<KeyValuePair<string, string>>(states.Count + 2)
        {
            new("ring_nodes", states.Count.ToString(CultureInfo.InvariantCulture)),
            new("ring_replication", ring.Strategy.ToString() ?? ""),
        };
        var sorted = new List<KeyValuePair<Gossip.Transport.NodeAddress, EndpointState>>(states);
        sorted.Sort(static (a, b) => a.Key.Host != b.Key.Host ? string.CompareOrdinal(a.Key.Host, b.Key.Host) : a.Key.Port.CompareTo(b.Key.Port));
        for (var i = 0; i < sorted.Count; i++)
        {
            var (address, state) = sorted[i];
            var owns = placement.Ring.TryGetIndex(address, out var index) ? owned[index] / width : 0;
            var tokens = TokenList.TryParse(state.Get(ApplicationState.Tokens), out var t) ? t.Length : 0;
            var alive = address == gossiper.LocalEndpoint || gossiper.IsAlive(address);
            lines.Add(new("node" + i.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture,
                $"id={state.Get(ApplicationState.HostId) ?? "?"},address={address},client={state.Get(ApplicationState.ClientAddress) ?? "?"},dc={state.Get(ApplicationState.Datacenter) ?? ClusterRing.DefaultDatacenter},rack={state.Get(ApplicationState.Rack) ?? ClusterRing.DefaultRack},status={state.Get(ApplicationState.Status) ?? "?"},state={(alive ? "up" : "down")},owns={owns:F4},tokens={tokens}")));
        }
        return lines;
    }
}
