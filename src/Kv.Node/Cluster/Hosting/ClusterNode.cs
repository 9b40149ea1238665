using System.Globalization;
using Kv.Gossip.Membership;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Hints;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Net;
using Kv.Node.Cluster.Replica;
using Kv.Node.Time;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Cluster.Hosting;

/// <summary>
/// Everything that makes a node a cluster member, wired together: the internode TCP transport, gossip
/// (membership, failure detection, the ring), internode messaging, the replica verbs over the local
/// store, durable hints with their replay, and the coordinator behind a <see cref="ClusterKeyspace"/>
/// that the RESP front end serves.
/// </summary>
/// <remarks>
/// Tokens: chosen once and kept in <c>&lt;data&gt;/cluster/tokens</c> (a node must keep its tokens across
/// restarts). A new node waits briefly to learn the ring from its seeds and then picks tokens with the
/// balancing allocator; nodes started together all see an empty ring and fall back to tokens spread by a
/// hash of their node id. There is no bootstrap streaming yet: a node joining a cluster that already
/// holds data serves its ranges empty until reads repair them.
/// Threading: <see cref="StartAsync"/> and <see cref="DisposeAsync"/> once each, from one thread; the
/// rest is thread-safe.
/// </remarks>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly TcpTransport _transport;
    private readonly MessagingService _messaging;
    private readonly Gossiper _gossiper;
    private readonly ClusterRing _ring;
    private readonly HintedHandoff _handoff;
    private readonly ILocalReplicaStore _store;

    private ClusterNode(ClusterOptions options, string nodeId, TcpTransport transport, MessagingService messaging, Gossiper gossiper,
        ClusterRing ring, HintedHandoff handoff, Coordinator coordinator, ILocalReplicaStore store)
    {
        Options = options;
        NodeId = nodeId;
        _transport = transport;
        _messaging = messaging;
        _gossiper = gossiper;
        _ring = ring;
        _handoff = handoff;
        Coordinator = coordinator;
        _store = store;
        Keyspace = new ClusterKeyspace(coordinator, store, handoff, options.ReadConsistency, options.WriteConsistency) { DescribeRing = DescribeRing };
    }

    public ClusterOptions Options { get; }

    public string NodeId { get; }

    public NodeAddress PeerAddress => _transport.LocalAddress;

    public Coordinator Coordinator { get; }

    /// <summary>The keyspace the RESP server serves, at the configured default levels.</summary>
    public ClusterKeyspace Keyspace { get; }

    public Gossiper Gossiper => _gossiper;

    public ClusterRing Ring => _ring;

    public HintedHandoff HintedHandoff => _handoff;

    /// <summary>INFO's ring section.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> DescribeRing() => RingDescription.Describe(_gossiper, _ring);

    /// <summary>Starts the transport, gossip and hint replay; joins the ring.</summary>
    /// <param name="clientAddress">host:port where this node serves RESP (gossiped for INFO ring).</param>
    /// <exception cref="System.Net.Sockets.SocketException">The peer port cannot be bound.</exception>
    public static Task<ClusterNode> StartAsync(ClusterOptions options, string dataDirectory, ILocalReplicaStore store, HybridLogicalClock clock,
        string clientAddress, TimeProvider? time = null, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, dataDirectory, store, clock, clientAddress, socketLoop: null, time, loggers, cancellationToken);

    /// <summary>As above, with inbound peer connections received through <paramref name="socketLoop"/> (the node's epoll
    /// loop, shared with its RESP server; the caller disposes it after this node).</summary>
    internal static async Task<ClusterNode> StartAsync(ClusterOptions options, string dataDirectory, ILocalReplicaStore store, HybridLogicalClock clock,
        string clientAddress, Resp.Net.EpollLoop? socketLoop, TimeProvider? time = null, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        loggers ??= NullLoggerFactory.Instance;
        if (options.ReplicationFactor < 1) throw new ArgumentException("--replication-factor must be at least 1");
        var clusterDirectory = Path.Combine(dataDirectory, "cluster");
        Directory.CreateDirectory(clusterDirectory);
        var nodeId = options.NodeId ?? LoadOrCreate(Path.Combine(clusterDirectory, "node-id"), () => Guid.NewGuid().ToString("N")[..12]);

        var transport = TcpTransport.Start(new TcpTransportOptions { ListenHost = options.PeerHost, ListenPort = options.PeerPort, SocketLoop = socketLoop }, loggers.CreateLogger<TcpTransport>(), time);
        // A replica's response resumes its coordinator inline on the receive loop, and a write's deciding ack resumes the
        // write inline (CoordinatorOptions below): what follows (count an ack, compare a digest, write a client's reply)
        // is short and never blocks, and each saves a thread-pool hop.
        var messaging = new MessagingService(transport, new MessagingOptions { RunContinuationsAsynchronously = false }, time, loggers.CreateLogger<MessagingService>());
        var gossiper = new Gossiper(transport, new GossipOptions { Seeds = options.Seeds, Interval = options.GossipInterval }, time,
            new Random(HashCode.Combine(nodeId, time.GetUtcNow().Ticks)), logger: loggers.CreateLogger<Gossiper>());
        var ring = new ClusterRing(gossiper, new NetworkTopologyStrategy(new Dictionary<string, int> { [options.Datacenter] = options.ReplicationFactor }));
        new ReplicaService(store, clock).Serve(messaging);
        var handoff = new HintedHandoff(new HintStore(Path.Combine(dataDirectory, "hints"), time, loggers.CreateLogger<HintStore>()), messaging, gossiper,
            new HintedHandoffOptions { HintWindow = options.HintWindow }, time, loggers.CreateLogger<HintedHandoff>());
        gossiper.Register(handoff);
        handoff.ServeFallbackWrites();
        // A restarted node knows only its own tokens until gossip brings the others': it must not coordinate on that.
        var placement = new LearnedRingPlacement(() => ring.Current, transport.LocalAddress, options.Seeds, new FileKnownPeers(clusterDirectory));
        gossiper.Register(placement);
        var coordinator = new Coordinator(transport.LocalAddress, messaging, store, () => placement.Current, gossiper, clock, handoff,
            new CoordinatorOptions { WriteTimeout = options.WriteTimeout, ReadTimeout = options.ReadTimeout, SloppyQuorum = options.SloppyQuorum, RunContinuationsAsynchronously = false, BatchReplicaRequests = options.BatchReplicaRequests }, time, loggers.CreateLogger<Coordinator>());

        var tokensFile = Path.Combine(clusterDirectory, "tokens");
        var tokens = File.Exists(tokensFile) && TokenList.TryParse(File.ReadAllText(tokensFile).Trim(), out var saved) ? saved : null;
        var states = new Dictionary<ApplicationState, string>
        {
            [ApplicationState.HostId] = nodeId,
            [ApplicationState.Datacenter] = options.Datacenter,
            [ApplicationState.Rack] = options.Rack,
            [ApplicationState.InternodeAddress] = transport.LocalAddress.ToString(),
            [ApplicationState.ClientAddress] = clientAddress,
            [ApplicationState.SoftwareVersion] = typeof(ClusterNode).Assembly.GetName().Version?.ToString() ?? "0",
            [ApplicationState.Status] = NodeStatusText.ToText(tokens is null ? NodeStatus.Joining : NodeStatus.Normal),
        };
        if (tokens is not null) states[ApplicationState.Tokens] = TokenList.Format(tokens);
        gossiper.Start(states);

        if (tokens is null)
        {
            // Learn the ring from the seeds for a few gossip rounds, then take balanced tokens against it.
            var hasOtherSeeds = options.Seeds.Exists(s => s != transport.LocalAddress);
            if (hasOtherSeeds) await LearnRingAsync(gossiper, options.GossipInterval, time, loggers.CreateLogger<ClusterNode>(), cancellationToken).ConfigureAwait(false);
            await WaitForEarlierJoinersAsync(gossiper, transport.LocalAddress, options.GossipInterval, time, loggers.CreateLogger<ClusterNode>(), cancellationToken).ConfigureAwait(false);
            var offset = (ulong)System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(nodeId));
            tokens = TokenAllocator.Allocate(ring.Current.Ring, options.NumTokens, offset, options.ReplicationFactor);
            File.WriteAllText(tokensFile, TokenList.Format(tokens));
            gossiper.SetApplicationState(ApplicationState.Tokens, TokenList.Format(tokens));
            gossiper.SetApplicationState(ApplicationState.Status, NodeStatusText.ToText(NodeStatus.Normal));
        }
        handoff.Start();
        return new ClusterNode(options, nodeId, transport, messaging, gossiper, ring, handoff, coordinator, store);
    }

    /// <summary>
    /// Gossips until a seed has answered (this node knows another endpoint) and three rounds have passed, so the
    /// allocation sees the ring rather than an empty one. A node whose seeds never answer gives up after
    /// <see cref="SeedWaitLimit"/> and starts as if alone, with a warning: its tokens may overlap the cluster's.
    /// </summary>
    private static async Task LearnRingAsync(Gossiper gossiper, TimeSpan interval, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        await Task.Delay(interval * 3, time, cancellationToken).ConfigureAwait(false);
        var logged = false;
        while (gossiper.KnownEndpointCount < 2)
        {
            if (time.GetElapsedTime(started) >= SeedWaitLimit)
            {
                logger.LogWarning("No seed answered within {Limit}; joining as if this node were alone (check --seeds)", SeedWaitLimit);
                return;
            }
            if (!logged)
            {
                logger.LogInformation("Waiting for a seed to answer before taking tokens");
                logged = true;
            }
            await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
        }
        if (logged) await Task.Delay(interval * 2, time, cancellationToken).ConfigureAwait(false); // a round or two more for the rest of the ring
    }

    /// <summary>How long a joiner waits for any seed (see <see cref="LearnRingAsync"/>).</summary>
    private static readonly TimeSpan SeedWaitLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Joins one at a time. The allocator places tokens by the ring it sees, so two nodes joining against the same
    /// view split the same ranges: without the jitter in <see cref="TokenAllocator"/> they took identical tokens and
    /// the ring kept only one of them (the other was a member that owned nothing); with it, one of them still owns
    /// only slivers. So a joiner waits while another live node that started before it (smaller gossip generation,
    /// then smaller peer address) is JOINING as far as it knows, then allocates against a ring that includes that
    /// node's tokens (TOKENS travels with the NORMAL status that ends the wait). A joiner that stays JOINING longer
    /// than <see cref="JoinQueueLimit"/> (hung, or a partition) stops holding the others back.
    /// </summary>
    private static async Task WaitForEarlierJoinersAsync(Gossiper gossiper, NodeAddress self, TimeSpan interval, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var logged = false;
        var selfState = gossiper.GetEndpointState(self);
        var selfGeneration = selfState?.Generation ?? long.MaxValue;
        while (time.GetElapsedTime(started) < JoinQueueLimit)
        {
            NodeAddress? ahead = null;
            foreach (var (endpoint, state) in gossiper.GetEndpointStates())
            {
                if (endpoint == self || state.Status != NodeStatus.Joining || !gossiper.IsAlive(endpoint)) continue;
                var before = state.Generation != selfGeneration
                    ? state.Generation < selfGeneration
                    : string.CompareOrdinal(endpoint.ToString(), self.ToString()) < 0;
                if (before) ahead = endpoint;
            }
            if (ahead is null) return;
            if (!logged)
            {
                logger.LogInformation("Waiting for {Endpoint}, which is joining too, to take its tokens before taking ours", ahead);
                logged = true;
            }
            await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
        }
        logger.LogWarning("Still waiting for other joining nodes after {Limit}; taking tokens now (they may overlap theirs)", JoinQueueLimit);
    }

    /// <summary>How long a joiner waits for earlier joiners (see <see cref="WaitForEarlierJoinersAsync"/>).</summary>
    private static readonly TimeSpan JoinQueueLimit = TimeSpan.FromSeconds(60);

    private static string LoadOrCreate(string path, Func<string> create)
    {
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            if (text.Length > 0) return text;
        }
        var value = create();
        File.WriteAllText(path, value);
        return value;
    }

    public async ValueTask DisposeAsync()
    {
        _gossiper.Stop();
        await _handoff.DisposeAsync().ConfigureAwait(false);
        await _messaging.DisposeAsync().ConfigureAwait(false);
        await _gossiper.DisposeAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        await _store.FlushAsync().ConfigureAwait(false);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{NodeId}@{PeerAddress}");
}
