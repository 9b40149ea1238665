namespace Kv.Gossip.Membership;

/// <summary>
/// Everything known about one endpoint: its heartbeat and its versioned application states, plus local
/// judgement (alive or not, when last updated).
/// </summary>
/// <remarks>
/// Threading: only the owning <see cref="Gossiper"/> writes, under its lock. The generation is fixed for the
/// life of the object (a restart replaces the whole EndpointState); the heartbeat version is one 64-bit field
/// and the states one immutable map, each written atomically, so readers on any thread see consistent values
/// per field without locking (the heartbeat and the states may come from slightly different moments).
/// The heartbeat is kept as a number, not as a <see cref="HeartbeatState"/> object, because it changes every
/// second for every endpoint and is read in every gossip exchange: an object per beat per observer was a
/// large share of a 1000-node simulation's time.
/// </remarks>
public sealed class EndpointState
{
    private readonly long _generation;
    private long _heartbeatVersion;
    private long _statesMaxVersion;
    private volatile ApplicationStateMap _states;
    private volatile NodeStatus _status;
    private volatile bool _isAlive;

    public EndpointState(HeartbeatState heartbeat)
        : this(heartbeat, ApplicationStateMap.Empty)
    {
    }

    public EndpointState(HeartbeatState heartbeat, ApplicationStateMap states)
    {
        _generation = heartbeat.Generation;
        _heartbeatVersion = heartbeat.Version;
        _states = states;
        _status = states.Status;
        _statesMaxVersion = states.MaxVersion;
    }

    /// <summary>A snapshot of the heartbeat (a new object per call).</summary>
    public HeartbeatState Heartbeat => new(_generation, HeartbeatVersion);

    public long HeartbeatVersion
    {
        get => Volatile.Read(ref _heartbeatVersion);
        internal set => Volatile.Write(ref _heartbeatVersion, value);
    }

    public ApplicationStateMap States
    {
        get => _states;
        internal set
        {
            _states = value;
            _status = value.Status;
            Volatile.Write(ref _statesMaxVersion, value.MaxVersion);
        }
    }

    /// <summary>Whether the local failure detector considers the endpoint up.</summary>
    public bool IsAlive { get => _isAlive; internal set => _isAlive = value; }

    /// <summary>Local timestamp (TimeProvider ticks) of the last change; used for expiry, never sent.</summary>
    internal long UpdatedAt { get; set; }

    /// <summary>Local timestamp at which a LEFT/REMOVED endpoint may be forgotten; 0 when not scheduled.</summary>
    internal long ForgetAt { get; set; }

    public long Generation => _generation;

    /// <summary>The highest version of the heartbeat or any state: what a digest advertises.</summary>
    /// <summary>The highest version of any application state (0 when none).</summary>
    internal long StatesMaxVersion => Volatile.Read(ref _statesMaxVersion);

    public long MaxVersion => Math.Max(HeartbeatVersion, Volatile.Read(ref _statesMaxVersion));

    /// <summary>The endpoint's address as gossip encodes it, cached because every SYN carries it (gossiper lock).</summary>
    internal byte[]? EncodedEndpoint { get; set; }

    /// <summary>The endpoint's <see cref="GossipStringTable.IdOf"/> in the owning gossiper's table (-1: none), set when it is stored.</summary>
    internal int Id { get; set; } = -1;

    /// <summary>The failure detector's arrival window for this endpoint, cached so reports and checks skip the detector's map (gossiper lock).</summary>
    internal FailureDetection.ArrivalWindow? Window { get; set; }

    /// <summary>The window's conviction time as of detector epoch <see cref="DetectorEpoch"/> (gossiper lock).</summary>
    internal long ConvictAfter { get; set; }

    /// <summary>Detector epoch when <see cref="ConvictAfter"/> was taken; -1: never.</summary>
    internal long DetectorEpoch { get; set; } = -1;

    /// <summary>Scratch mark used by the gossiper (under its lock) to find endpoints a SYN did not mention.</summary>
    internal long Mark { get; set; }

    public string? Get(ApplicationState key) => _states.TryGetValue(key, out var v) ? v.Value : null;

    /// <summary>The parsed status, copied here from the map: the gossiper checks it for every endpoint every round.</summary>
    public NodeStatus Status => _status;

    public override string ToString() => $"gen={Generation} hb={HeartbeatVersion} alive={IsAlive} states={_states.Count}";
}
