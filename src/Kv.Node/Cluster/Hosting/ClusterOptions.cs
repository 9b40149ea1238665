using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;

namespace Kv.Node.Cluster.Hosting;

/// <summary>
/// Cluster settings of a node (part of NodeOptions; command-line names in parentheses). A node runs as a
/// cluster member when <see cref="PeerPort"/> is set; without it, it is a single node.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>(--node-id) Stable identity gossiped as HOST_ID; default: generated once and kept in data/cluster/node-id.</summary>
    public string? NodeId { get; set; }

    /// <summary>(--peer-port) Internode (gossip + replica traffic) TCP port. 0 = not clustered.</summary>
    public int PeerPort { get; set; }

    /// <summary>(--peer-host) Address peers reach this node on (also the listen address). Default 127.0.0.1.</summary>
    public string PeerHost { get; set; } = "127.0.0.1";

    /// <summary>(--seeds) host:port of seed nodes' peer ports, comma-separated. A node may list itself.</summary>
    public List<NodeAddress> Seeds { get; set; } = [];

    /// <summary>(--dc) Datacenter name.</summary>
    public string Datacenter { get; set; } = "dc1";

    /// <summary>(--rack) Rack name; replicas of a range go to distinct racks when there are enough.</summary>
    public string Rack { get; set; } = "rack1";

    /// <summary>(--replication-factor) Replicas of every key (N). Default 3.</summary>
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>(--num-tokens) Virtual nodes per node. Default 16.</summary>
    public int NumTokens { get; set; } = 16;

    /// <summary>(--read-consistency) Default read level of new connections. Default QUORUM.</summary>
    public ConsistencyLevel ReadConsistency { get; set; } = ConsistencyLevel.Quorum;

    /// <summary>(--write-consistency) Default write level of new connections. Default QUORUM.</summary>
    public ConsistencyLevel WriteConsistency { get; set; } = ConsistencyLevel.Quorum;

    /// <summary>(--hint-window) How long a down replica keeps getting hints. Default 3 h.</summary>
    public TimeSpan HintWindow { get; set; } = TimeSpan.FromHours(3);

    /// <summary>Sloppy quorum: fallback nodes keeping hints count toward ONE/TWO/QUORUM writes (see <see cref="Coordination.CoordinatorOptions.SloppyQuorum"/>).</summary>
    public bool SloppyQuorum { get; set; }

    /// <summary>Send the replica writes (and reads) of one burst of client requests as one batch per replica (see <see cref="Coordination.CoordinatorOptions.BatchReplicaRequests"/>).</summary>
    public bool BatchReplicaRequests { get; set; } = true;

    /// <summary>(--gossip-interval-ms) Gossip round period. Default 1 s.</summary>
    public TimeSpan GossipInterval { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public bool Enabled => PeerPort > 0;

    /// <summary>Parses "host:port,host:port"; throws <see cref="ArgumentException"/> naming the bad entry.</summary>
    public static List<NodeAddress> ParseSeeds(string text)
    {
        var seeds = new List<NodeAddress>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!NodeAddress.TryParse(part, out var address))
                throw new ArgumentException($"seed '{part}' is not host:port (e.g. --seeds 127.0.0.1:7001,127.0.0.1:7002)");
            seeds.Add(address);
        }
        return seeds;
    }
}
