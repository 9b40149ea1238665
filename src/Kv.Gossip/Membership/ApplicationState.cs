namespace Kv.Gossip.Membership;

/// <summary>
/// The keys of the versioned application states each node gossips about itself.
/// wire format: the numeric values travel in gossip messages; never renumber, only add.
/// </summary>
/// <remarks>
/// Extensible: a node passes on keys it does not know (any byte value), so a newer software version can
/// add a key without breaking older nodes. Values 128-255 are free for modules outside Kv.Gossip.
/// </remarks>
public enum ApplicationState : byte
{
    /// <summary><see cref="NodeStatus"/> as text, e.g. "NORMAL".</summary>
    Status = 0,

    /// <summary>The node's tokens, see <see cref="TokenList"/>.</summary>
    Tokens = 1,
    Datacenter = 2,
    Rack = 3,

    /// <summary>host:port for gossip and replica messages.</summary>
    InternodeAddress = 4,

    /// <summary>host:port where clients connect (RESP).</summary>
    ClientAddress = 5,

    /// <summary>Bytes stored, as a decimal number.</summary>
    Load = 6,
    SoftwareVersion = 7,

    /// <summary>Stable node identity that survives address changes.</summary>
    HostId = 8,
}
