using Kv.Gossip.FailureDetection;
using Kv.Gossip.Membership;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Simulation.Gossip;

/// <summary>
/// N simulated nodes running the real <see cref="Gossiper"/> over a <see cref="SimulatedNetwork"/>, with
/// balanced tokens, racks and datacenters, seeds, and (optionally) membership events in the trace. The
/// starting point for cluster simulations: later layers add their own software beside the gossiper via
/// <paramref name="extend"/>.
/// </summary>
/// <remarks>Threading: simulation thread only.</remarks>
public sealed class SimulatedGossipCluster
{
    private readonly Dictionary<NodeAddress, int> _idOf = [];
    private readonly NodeAddress[] _addresses;
    private readonly ulong[][] _tokens;
    private readonly Action<GossipNode>? _extend;
    private readonly GossipStringTable _strings = new(); // one process, one copy of each host name and value

    public SimulatedGossipCluster(Simulation simulation, GossipClusterOptions options, Action<GossipNode>? extend = null)
    {
        Simulation = simulation;
        Options = options;
        _extend = extend;
        Network = new SimulatedNetwork(simulation) { DefaultLink = options.Link };
        _addresses = new NodeAddress[options.Nodes];
        for (var i = 0; i < options.Nodes; i++)
        {
            _addresses[i] = new NodeAddress($"10.{i / 65536}.{i / 256 % 256}.{i % 256}", 7000);
            _idOf[_addresses[i]] = i;
        }
        _tokens = AssignTokens(options, simulation.CreateRandom(), _addresses);
        Seeds = [.. _addresses.Take(Math.Max(1, Math.Min(options.Seeds, options.Nodes)))];
        var nodes = new List<SimulatedNode>(options.Nodes);
        for (var i = 0; i < options.Nodes; i++)
        {
            var id = i;
            nodes.Add(simulation.AddNode(_addresses[i].Host, n => StartNode(n, id)));
        }
        Nodes = nodes;
    }

    public Simulation Simulation { get; }

    public GossipClusterOptions Options { get; }

    public SimulatedNetwork Network { get; }

    public IReadOnlyList<SimulatedNode> Nodes { get; }

    public IReadOnlyList<NodeAddress> Seeds { get; }

    public NodeAddress AddressOf(int node) => _addresses[node];

    public int IdOf(NodeAddress address) => _idOf[address];

    public IReadOnlyList<ulong> TokensOf(int node) => _tokens[node];

    public string RackOf(int node) => $"rack{node % Options.Racks}";

    public string DatacenterOf(int node) => $"dc{(node / Options.Racks) % Options.Datacenters + 1}";

    /// <summary>The running software of a node, or null while it is crashed.</summary>
    public GossipNode? Software(int node) => Nodes[node].Software as GossipNode;

    /// <summary>Starts every node now.</summary>
    public void StartAll()
    {
        foreach (var n in Nodes) n.Start();
    }

    /// <summary>Whether every running node knows every node in <paramref name="expected"/> (ids) with at least the given status.</summary>
    public bool AllRunningKnow(IReadOnlyCollection<int> expected, NodeStatus status = NodeStatus.Normal)
    {
        foreach (var node in Nodes)
        {
            if (node.Software is not GossipNode g) continue;
            foreach (var id in expected)
            {
                var state = g.Gossiper.GetEndpointState(_addresses[id]);
                if (state is null || state.Status != status) return false;
            }
        }
        return true;
    }

    /// <summary>Whether every running node's failure detector sees exactly the running nodes as up.</summary>
    public bool ViewsAgreeWithReality()
    {
        foreach (var observer in Nodes)
        {
            if (observer.Software is not GossipNode g) continue;
            for (var i = 0; i < Nodes.Count; i++)
            {
                var shouldBeUp = Nodes[i].State == NodeState.Running;
                if (g.Gossiper.IsAlive(_addresses[i]) != shouldBeUp) return false;
            }
        }
        return true;
    }

    private GossipNode StartNode(SimulatedNode node, int id)
    {
        var transport = Network.Attach(node, _addresses[id]);
        var detector = new PhiAccrualFailureDetector(Options.FailureDetector, node.Clock);
        var gossiper = new Gossiper(transport, new GossipOptions
        {
            Interval = Options.GossipInterval,
            Seeds = Seeds,
            QuarantineDelay = Options.QuarantineDelay,
            Strings = _strings,
        }, node.Clock, node.Random, detector);
        var software = new GossipNode(node, transport, gossiper, detector);
        if (Options.TraceMembership) gossiper.Register(new TraceListener(this, id));
        _extend?.Invoke(software);
        gossiper.Start(new Dictionary<ApplicationState, string>
        {
            [ApplicationState.Status] = NodeStatusText.ToText(NodeStatus.Normal),
            [ApplicationState.Tokens] = TokenList.Format(_tokens[id]),
            [ApplicationState.Datacenter] = DatacenterOf(id),
            [ApplicationState.Rack] = RackOf(id),
            [ApplicationState.InternodeAddress] = _addresses[id].ToString(),
            [ApplicationState.SoftwareVersion] = "sim",
        });
        return software;
    }

    private static ulong[][] AssignTokens(GossipClusterOptions options, Random random, NodeAddress[] addresses)
    {
        var tokens = new ulong[options.Nodes][];
        if (!options.AllocateTokens)
        {
            for (var i = 0; i < options.Nodes; i++) tokens[i] = TokenAllocator.Random(random, options.NumTokens);
            return tokens;
        }
        // Incremental, as a real cluster grows; the working set of ranges is rebuilt per node.
        var members = new List<RingMember>(options.Nodes);
        var ring = TokenRing.Empty;
        for (var i = 0; i < options.Nodes; i++)
        {
            tokens[i] = TokenAllocator.Allocate(ring, options.NumTokens, (ulong)random.NextInt64());
            members.Add(new RingMember(addresses[i], "dc", "rack", tokens[i]));
            ring = TokenRing.Create(members);
        }
        return tokens;
    }

    private sealed class TraceListener(SimulatedGossipCluster cluster, int observer) : IEndpointStateListener
    {
        private void Record(int kind, NodeAddress endpoint) =>
            cluster.Simulation.Trace.Record(TraceKind.Note, observer, kind, cluster._idOf.GetValueOrDefault(endpoint, -1));

        public void OnJoin(NodeAddress endpoint, EndpointState state) => Record(1, endpoint);

        public void OnAlive(NodeAddress endpoint, EndpointState state) => Record(2, endpoint);

        public void OnDead(NodeAddress endpoint, EndpointState state) => Record(3, endpoint);

        public void OnRestart(NodeAddress endpoint, EndpointState state) => Record(4, endpoint);

        public void OnRemove(NodeAddress endpoint) => Record(5, endpoint);
    }
}
