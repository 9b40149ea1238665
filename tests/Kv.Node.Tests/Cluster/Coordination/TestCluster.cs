using System.Collections.Concurrent;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Hints;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Net;
using Kv.Node.Cluster.Replica;
using Kv.Node.Time;

namespace Kv.Node.Tests.Cluster.Coordination;

/// <summary>
/// Liveness as a failure detector would report it, switched by the test: a node the test stopped is
/// reported down (after a real detector's conviction delay), so coordinators skip it and hint it.
/// </summary>
internal sealed class SwitchedLiveness : IEndpointLiveness
{
    private readonly ConcurrentDictionary<NodeAddress, bool> _down = new();

    public bool IsAlive(NodeAddress endpoint) => !_down.ContainsKey(endpoint);

    public void SetDown(NodeAddress endpoint) => _down[endpoint] = true;

    public void SetUp(NodeAddress endpoint) => _down.TryRemove(endpoint, out _);
}

/// <summary>
/// N in-process nodes on 127.0.0.1 (OS-assigned ports), each with a real TCP transport, messaging, an
/// in-memory replica store, durable hints in a temp folder and a coordinator, over a fixed ring
/// (RF 3, balanced tokens). A node can be stopped (its transport closed: peers see refused or lost
/// connections) and restarted on the same port with its store and hint files kept.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "kv-cluster-" + Guid.NewGuid().ToString("N"));

    public List<TestNode> Nodes { get; } = [];

    public SwitchedLiveness Liveness { get; } = new();

    public ReplicaPlacement Placement { get; private set; } = null!;

    public CoordinatorOptions Options { get; private set; } = new() { WriteTimeout = TimeSpan.FromSeconds(1), ReadTimeout = TimeSpan.FromSeconds(1) };

    /// <summary>Makes node i's transport; given the port to bind (0 on first start, the same one on restart).</summary>
    public Func<int, int, IMessageTransport> TransportFactory { get; init; } = static (_, port) => TcpTransport.Start(new TcpTransportOptions
    {
        ListenHost = "127.0.0.1",
        ListenPort = port,
        ReconnectBackoffInitial = TimeSpan.FromMilliseconds(20),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
    });

    public static async Task<TestCluster> StartAsync(int nodes = 3, int replicationFactor = 3, Func<int, int, IMessageTransport>? transports = null, CoordinatorOptions? options = null)
    {
        var cluster = transports is null ? new TestCluster() : new TestCluster { TransportFactory = transports };
        if (options is not null) cluster.Options = options;
        for (var i = 0; i < nodes; i++)
        {
            var node = new TestNode(cluster, i, Path.Combine(cluster._root, "node" + i));
            node.Start(0);
            cluster.Nodes.Add(node);
        }
        var ring = TokenRing.Empty;
        foreach (var n in cluster.Nodes)
            ring = ring.With(new RingMember(n.Address, "dc1", "rack" + n.Index, TokenAllocator.Allocate(ring, 8, replicationFactor: replicationFactor)));
        cluster.Placement = new ReplicaPlacement(ring, new SimpleStrategy(replicationFactor));
        await Task.CompletedTask;
        return cluster;
    }

    /// <summary>Stops a node and tells every failure detector it is down.</summary>
    public async Task StopAsync(TestNode node)
    {
        await node.StopAsync();
        Liveness.SetDown(node.Address);
        foreach (var n in Nodes) n.Handoff?.MarkDown(node.Address);
    }

    public void Restart(TestNode node)
    {
        node.Start(node.Address.Port);
        Liveness.SetUp(node.Address);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var n in Nodes) await n.StopAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed class TestNode(TestCluster cluster, int index, string directory)
{
    public int Index { get; } = index;

    public NodeAddress Address { get; private set; }

    /// <summary>Kept across restarts: durable state of the replica.</summary>
    public InMemoryReplicaStore Store { get; } = new();

    public HybridLogicalClock Clock { get; } = new(TimeProvider.System);

    public IMessageTransport? Transport { get; private set; }

    public MessagingService? Messaging { get; private set; }

    public HintedHandoff? Handoff { get; private set; }

    public Coordinator Coordinator { get; private set; } = null!;

    public void Start(int port)
    {
        Transport = cluster.TransportFactory(Index, port);
        Address = Transport.LocalAddress;
        Messaging = new MessagingService(Transport);
        new ReplicaService(Store, Clock).Serve(Messaging);
        Handoff = new HintedHandoff(new HintStore(Path.Combine(directory, "hints")), Messaging, cluster.Liveness,
            new HintedHandoffOptions { ReplayTimeout = TimeSpan.FromSeconds(2) });
        Handoff.ServeFallbackWrites();
        Coordinator = new Coordinator(Address, Messaging, Store, () => cluster.Placement, cluster.Liveness, Clock, Handoff, cluster.Options);
    }

    public bool IsRunning => Transport is not null;

    public async Task StopAsync()
    {
        if (Transport is null) return;
        await Handoff!.DisposeAsync();
        await Messaging!.DisposeAsync();
        await Transport.DisposeAsync();
        Transport = null;
    }

    public ReplicaCell Local(string key) => Store.ReadAsync(Coordinator.StorageKeyOf(System.Text.Encoding.UTF8.GetBytes(key))).AsTask().Result;
}
