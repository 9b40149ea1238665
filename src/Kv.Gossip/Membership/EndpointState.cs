namespace Kv.Gossip.Membership;

/// <summary>
/// Everything known about one endpoint: its heartbeat and its versioned application states, plus local
/// judgement (alive or not, when last updated).
/// </summary>
/// <remarks>
/// Threading: only the owning <see cref="Gossiper"/> writes, under its lock. Each field is an immutable
/// value swapped atomically, so readers on any thread see consistent values per field without locking
/// (the heartbeat and the states may come from slightly different moments).
/// </remarks>
public sealed class EndpointState
{
    private volatile HeartbeatState _heartbeat;
    private volatile ApplicationStateMap _states;
    private volatile bool _isAlive;

    public EndpointState(HeartbeatState heartbeat)
        : this(heartbeat, ApplicationStateMap.Empty)
    {
    }

    public EndpointState(HeartbeatState heartbeat, ApplicationStateMap states)
    {
        _heartbeat = heartbeat;
        _states = states;
    }

    public HeartbeatState Heartbeat { get => _heartbeat; internal set => _heartbeat = value; }

    public ApplicationStateMap States { get => _states; internal set => _states = value; }

    /// <summary>Whether the local failure detector considers the endpoint up.</summary>
    public bool IsAlive { get => _isAlive; internal set => _isAlive = value; }

    /// <summary>Local timestamp (TimeProvider ticks) of the last change; used for expiry, never sent.</summary>
    internal long UpdatedAt { get; set; }

    /// <summary>Local timestamp at which a LEFT/REMOVED endpoint may be forgotten; 0 when not scheduled.</summary>
    internal long ForgetAt { get; set; }

    public long Generation => _heartbeat.Generation;

    /// <summary>The highest version of the heartbeat or any state: what a digest advertises.</summary>
    public long MaxVersion => Math.Max(_heartbeat.Version, _states.MaxVersion);

    /// <summary>Scratch mark used by the gossiper (under its lock) to find endpoints a SYN did not mention.</summary>
    internal long Mark { get; set; }

    public string? Get(ApplicationState key) => _states.TryGetValue(key, out var v) ? v.Value : null;

    public NodeStatus Status => _states.Status;

    public override string ToString() => $"gen={Generation} hb={Heartbeat.Version} alive={IsAlive} states={_states.Count}";
}
