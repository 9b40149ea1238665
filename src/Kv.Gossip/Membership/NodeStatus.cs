namespace Kv.Gossip.Membership;

/// <summary>Where a node is in its life in the ring, gossiped as <see cref="ApplicationState.Status"/>.</summary>
public enum NodeStatus
{
    Unknown = 0,

    /// <summary>Bootstrapping: announced its tokens but does not own them yet.</summary>
    Joining,

    /// <summary>Owns its tokens and serves them.</summary>
    Normal,

    /// <summary>Decommissioning: still owns its tokens while it streams them away.</summary>
    Leaving,

    /// <summary>Left the ring by itself; forgotten after the quarantine delay.</summary>
    Left,

    /// <summary>Removed by an operator because it is gone for good; forgotten after the quarantine delay.</summary>
    Removed,
}

/// <summary>Text form of <see cref="NodeStatus"/> as it travels in gossip. wire format: do not change the spellings.</summary>
public static class NodeStatusText
{
    public static string ToText(NodeStatus status) => status switch
    {
        NodeStatus.Joining => "JOINING",
        NodeStatus.Normal => "NORMAL",
        NodeStatus.Leaving => "LEAVING",
        NodeStatus.Left => "LEFT",
        NodeStatus.Removed => "REMOVED",
        _ => "UNKNOWN",
    };

    public static NodeStatus Parse(string? text) => text switch
    {
        "JOINING" => NodeStatus.Joining,
        "NORMAL" => NodeStatus.Normal,
        "LEAVING" => NodeStatus.Leaving,
        "LEFT" => NodeStatus.Left,
        "REMOVED" => NodeStatus.Removed,
        _ => NodeStatus.Unknown,
    };

    /// <summary>States in which a node is out of the cluster for good: never marked up again, eventually forgotten.</summary>
    public static bool IsDeadState(NodeStatus status) => status is NodeStatus.Left or NodeStatus.Removed;
}
