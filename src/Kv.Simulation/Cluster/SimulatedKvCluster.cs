using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Hints;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Replica;
using Kv.Node.Time;
using Kv.Simulation.Gossip;

namespace Kv.Simulation.Cluster;

/// <summary>
/// N simulated Kv.Node cluster members: real gossip (membership, phi-accrual failure detection, the ring),
/// internode messaging, replica verbs, durable hints with replay (and fallback writes of sloppy quorum), and the coordinator, all on the simulated
/// network and clocks, on the simulation thread. The same seed gives the same run, event for event.
/// </summary>
/// <remarks>
/// What survives a crash (a node's "disk"): its replica store (a replica acknowledges only durable writes, so
/// the store keeps everything it ever acknowledged), its hint files (each hint is fsynced before it counts; they
/// live in a real temporary directory per node, deleted by <see cref="Dispose"/>), its HLC high-water mark, and the
/// ring members it has seen (<see cref="SimulatedKnownPeers"/>).
/// Everything else (pending requests, write trackers, replays, gossip state, the ring) dies with the incarnation.
/// Determinism: Kv.Node's completion sources are built without RunContinuationsAsynchronously (the options'
/// RunContinuationsAsynchronously = false), so awaiting code resumes inline on the simulation thread; all timers
/// and delays go through the node's <see cref="SimulationClock"/>; nothing touches the thread pool.
/// Threading: simulation thread only.
/// </remarks>
public sealed class SimulatedKvCluster : IDisposable
{
    private const string StoreItem = "kv.replica-store";
    private const string HighWaterMarkItem = "kv.hlc-high-water-mark";
    private const string PeersItem = "kv.known-peers";

    private readonly KvNode?[] _software;
    private readonly SkewedClock?[] _wallClocks;
    private readonly TimeSpan[] _offsets;
    private readonly string _directory;

    public SimulatedKvCluster(Simulation simulation, KvClusterOptions options)
    {
        Simulation = simulation;
        Options = options;
        _software = new KvNode?[options.Nodes];
        _wallClocks = new SkewedClock?[options.Nodes];
        _offsets = new TimeSpan[options.Nodes];
        // Hints are fsynced one by one; on tmpfs that costs nothing, and a simulated crash never loses the files anyway.
        var root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, "kv-sim-" + Guid.NewGuid().ToString("N"));
        Gossip = new SimulatedGossipCluster(simulation, new GossipClusterOptions
        {
            Nodes = options.Nodes,
            Seeds = Math.Min(3, options.Nodes),
            NumTokens = options.NumTokens,
            Racks = options.Racks,
            GossipInterval = options.GossipInterval,
            Link = options.Link,
            TraceMembership = options.TraceMembership,
        }, StartKvSoftware);
    }

    public Simulation Simulation { get; }

    public KvClusterOptions Options { get; }

    public SimulatedGossipCluster Gossip { get; }

    public SimulatedNetwork Network => Gossip.Network;

    public IReadOnlyList<SimulatedNode> Nodes => Gossip.Nodes;

    public NodeAddress AddressOf(int node) => Gossip.AddressOf(node);

    public int IdOf(NodeAddress address) => Gossip.IdOf(address);

    /// <summary>The running software of a node (also while paused), or null while it is crashed.</summary>
    public KvNode? Software(int node)
    {
        var software = _software[node];
        var n = Nodes[node];
        return software is not null && n.State != NodeState.Crashed && n.Incarnation == software.Incarnation ? software : null;
    }

    /// <summary>A node's replica data, whether or not the node is running.</summary>
    public InMemoryReplicaStore StoreOf(int node) => (InMemoryReplicaStore)Nodes[node].Items[StoreItem];

    public SimulatedHighWaterMark HighWaterMarkOf(int node) => (SimulatedHighWaterMark)Nodes[node].Items[HighWaterMarkItem];

    /// <summary>Sets how far a node's wall clock is from true time, now (a clock step) and for its later incarnations.</summary>
    public void SetClockOffset(int node, TimeSpan offset)
    {
        _offsets[node] = offset;
        if (_wallClocks[node] is { } clock) clock.Offset = offset;
    }

    public TimeSpan ClockOffsetOf(int node) => _offsets[node];

    public void StartAll() => Gossip.StartAll();

    /// <summary>Whether every running node has every node in its ring with status Normal and sees exactly the running nodes as up.</summary>
    public bool IsSettled() => Gossip.AllRunningKnow(AllIds()) && Gossip.ViewsAgreeWithReality();

    /// <summary>Whether no running node has replica writes in flight or hints left to deliver.</summary>
    public bool HintsDrained()
    {
        for (var i = 0; i < Nodes.Count; i++)
        {
            if (Software(i) is not { } node) continue;
            if (node.Coordinator.PendingReplicaWrites > 0 || node.PendingHintBytes() > 0) return false;
        }
        return true;
    }

    /// <summary>The natural replicas (node ids) of <paramref name="userKey"/> on the full ring, as any settled node computes them.</summary>
    public int[] ReplicasOf(ReadOnlySpan<byte> userKey)
    {
        for (var i = 0; i < Nodes.Count; i++)
        {
            if (Software(i) is not { } node) continue;
            var addresses = node.Coordinator.ReplicasOf(Coordinator.StorageKeyOf(userKey));
            var ids = new int[addresses.Length];
            for (var r = 0; r < ids.Length; r++) ids[r] = IdOf(addresses[r]);
            return ids;
        }
        throw new InvalidOperationException("No node is running, so no ring is known.");
    }

    private List<int> AllIds()
    {
        var ids = new List<int>(Nodes.Count);
        for (var i = 0; i < Nodes.Count; i++) ids.Add(i);
        return ids;
    }

    private void StartKvSoftware(GossipNode gossip)
    {
        var node = gossip.Node;
        var id = node.Id;
        if (!node.Items.TryGetValue(StoreItem, out var store)) node.Items[StoreItem] = store = new InMemoryReplicaStore();
        if (!node.Items.TryGetValue(HighWaterMarkItem, out var mark)) node.Items[HighWaterMarkItem] = mark = new SimulatedHighWaterMark();
        var replicaStore = (InMemoryReplicaStore)store;
        var wall = new SkewedClock(node.Clock) { Offset = _offsets[id] };
        _wallClocks[id] = wall;
        var clock = new HybridLogicalClock(wall, (SimulatedHighWaterMark)mark);
        var local = gossip.Transport.LocalAddress;

        var messaging = new MessagingService(gossip.Transport, new MessagingOptions { RunContinuationsAsynchronously = false }, node.Clock);
        var ring = new ClusterRing(gossip.Gossiper, new NetworkTopologyStrategy(new Dictionary<string, int> { [Gossip.DatacenterOf(id)] = Options.ReplicationFactor }));
        new ReplicaService(replicaStore, clock).Serve(messaging);
        var hintStore = new HintStore(Path.Combine(_directory, "node" + id, "hints"), wall);
        var handoff = new HintedHandoff(hintStore, messaging, gossip.Gossiper, new HintedHandoffOptions
        {
            HintWindow = Options.HintWindow,
            CheckInterval = Options.HintCheckInterval,
            RunContinuationsAsynchronously = false,
        }, wall);
        gossip.Gossiper.Register(handoff);
        handoff.ServeFallbackWrites();
        if (!node.Items.TryGetValue(PeersItem, out var peers)) node.Items[PeersItem] = peers = new SimulatedKnownPeers();
        var placement = new LearnedRingPlacement(() => ring.Current, local, Gossip.Seeds, (SimulatedKnownPeers)peers);
        gossip.Gossiper.Register(placement);
        var coordinator = new Coordinator(local, messaging, replicaStore, () => placement.Current, gossip.Gossiper, clock, handoff,
            Options.CoordinatorOptions(), node.Clock);
        handoff.Start();
        _software[id] = new KvNode(id, node.Incarnation, gossip.Gossiper, ring, messaging, coordinator, handoff, replicaStore, clock);
    }

    /// <summary>Deletes the nodes' hint directories.</summary>
    public void Dispose()
    {
        try
        {
            if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
    }
}
