using Kv.Gossip.FailureDetection;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Gossip.Membership;

/// <summary>
/// Membership by gossip, Cassandra style. Each node keeps an <see cref="EndpointState"/> per endpoint it knows;
/// every <see cref="GossipOptions.Interval"/> it bumps its own heartbeat and starts a SYN/ACK/ACK2 exchange
/// with one random live peer, with some probability one unreachable peer, and now and then a seed, so that
/// state spreads epidemically in O(log N) rounds while each exchange carries only what the other side lacks.
/// </summary>
/// <remarks>
/// <para>Exchange: A sends SYN (a digest per endpoint: generation, max version). B answers ACK: digests of
/// what it needs from A, plus the deltas A lacks (and full states of endpoints A did not mention). A applies
/// them and sends ACK2 with the deltas B asked for.</para>
/// <para>Liveness: a newer heartbeat for an endpoint (directly or relayed) is reported to the
/// <see cref="IFailureDetector"/>; each round the status check convicts endpoints whose phi exceeds the
/// threshold (OnDead), and an endpoint is marked up again (OnAlive) as soon as a newer heartbeat or a
/// message from it arrives. An endpoint first learned second-hand is not up until its heartbeat moves.</para>
/// <para>Threading: every public member is thread-safe. One lock (<c>_lock</c>) guards all mutable state: the
/// endpoint map, the random source, the version counter, the encode buffer, the event queue. Transport threads,
/// the timer thread and API callers each take it for the duration of one message or round; nothing inside it
/// blocks or calls out (sending is non-blocking by the transport contract). Listener events are queued under
/// the lock and delivered after it is released, serialized by <c>_dispatchGate</c>, in order. Under the
/// simulator everything runs on the single simulation thread and the locks are uncontended; the random
/// source is only drawn under the lock, so a seeded run is deterministic.</para>
/// </remarks>
public sealed class Gossiper : IEndpointLiveness, IMessageHandler, IAsyncDisposable
{
    private readonly IMessageTransport _transport;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly IFailureDetector _failureDetector;
    private readonly PhiAccrualFailureDetector? _phi; // the usual detector, reached through the windows kept on each state
    private readonly bool _ownsDetector; // _phi reports this gossiper's reports alone, so conviction times cached per state hold
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly object _dispatchGate = new();
    private readonly Dictionary<NodeAddress, EndpointState> _states = []; // membership, and the order of every walk over it
    private EndpointState?[] _byId = []; // the same states indexed by GossipStringTable.IdOf: a digest names its endpoint by id
    private readonly Dictionary<NodeAddress, (long Generation, long Until)> _quarantine = [];
    private readonly Queue<PendingEvent> _events = new();
    private readonly GossipWriter _writer = new();
    private readonly GossipStringTable _strings;
    private readonly List<GossipDigest> _requests = [];
    private readonly List<(GossipDigest Digest, int Id, EndpointState? Local)> _ackRequests = [];
    private readonly List<(NodeAddress Endpoint, EndpointState State, long NewerThan)> _sends = [];
    private readonly List<NodeAddress> _live = [];
    private readonly List<NodeAddress> _unreachable = [];
    private readonly HashSet<NodeAddress> _seeds;
    private readonly List<NodeAddress> _seedList;
    private readonly long _quarantineTicks;
    private readonly long _expiryTicks;
    private IEndpointStateListener[] _listeners = [];
    private EndpointState? _self;
    private ITimer? _timer;
    private long _version;
    private long _rounds;
    private long _synStamp;
    private int _pendingEvents;
    private bool _stopped;

    public Gossiper(
        IMessageTransport transport,
        GossipOptions options,
        TimeProvider time,
        Random random,
        IFailureDetector? failureDetector = null,
        ILogger? logger = null)
    {
        _transport = transport;
        Options = options;
        _time = time;
        _random = random;
        _failureDetector = failureDetector ?? new PhiAccrualFailureDetector(null, time);
        _phi = _failureDetector as PhiAccrualFailureDetector;
        _ownsDetector = _phi?.Claim(this) ?? false;
        _logger = logger ?? NullLogger.Instance;
        LocalEndpoint = transport.LocalAddress;
        _strings = options.Strings ?? new GossipStringTable();
        _seeds = [.. options.Seeds];
        _seedList = [.. options.Seeds.Where(s => s != LocalEndpoint)];
        _quarantineTicks = ToTicks(options.QuarantineDelay);
        _expiryTicks = ToTicks(options.DeadEndpointExpiry);
        transport.Register(MessageChannel.Gossip, this);
    }

    public GossipOptions Options { get; }

    public NodeAddress LocalEndpoint { get; }

    public IFailureDetector FailureDetector => _failureDetector;

    /// <summary>Gossip rounds run so far.</summary>
    public long Rounds
    {
        get { lock (_lock) return _rounds; }
    }

    public bool IsStarted
    {
        get { lock (_lock) return _self is not null && !_stopped; }
    }

    /// <summary>
    /// Starts gossiping with the given initial application states. <paramref name="generation"/> must grow across
    /// restarts of this node (default: now in Unix milliseconds; persist it if the clock may go back).
    /// </summary>
    public void Start(IReadOnlyDictionary<ApplicationState, string> initialStates, long? generation = null)
    {
        lock (_lock)
        {
            if (_self is not null) throw new InvalidOperationException("The gossiper was already started; create a new one for a new generation.");
            var gen = generation ?? _time.GetUtcNow().ToUnixTimeMilliseconds();
            var states = ApplicationStateMap.Empty;
            foreach (var kv in initialStates.OrderBy(kv => kv.Key)) states = states.SetItem(kv.Key, new VersionedValue(kv.Value, ++_version));
            _self = new EndpointState(new HeartbeatState(gen, ++_version), states) { IsAlive = true, UpdatedAt = _time.GetTimestamp() };
            Store(LocalEndpoint, _self);
            Enqueue(new PendingEvent(EventKind.Join, LocalEndpoint, _self));
            Enqueue(new PendingEvent(EventKind.Alive, LocalEndpoint, _self));
            // Desynchronize nodes started together: the first round comes at a random point of the first interval.
            var first = TimeSpan.FromTicks((long)(_random.NextDouble() * Options.Interval.Ticks));
            _timer = _time.CreateTimer(static s => ((Gossiper)s!).RunRound(), this, first, Options.Interval);
        }
        DispatchEvents();
    }

    /// <summary>Stops gossiping and tells live peers so they mark this node down at once instead of waiting for the detector.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            if (_self is null || _stopped) return;
            _stopped = true;
            _timer?.Dispose();
            _writer.Reset();
            _writer.WriteByte(GossipMessage.FormatVersion);
            _writer.WriteByte((byte)GossipMessageType.Shutdown);
            _writer.WriteVarint(_self.Generation);
            foreach (var kv in _states)
                if (kv.Key != LocalEndpoint && kv.Value.IsAlive) _transport.Send(kv.Key, MessageChannel.Gossip, _writer.Written);
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    public void Register(IEndpointStateListener listener)
    {
        lock (_lock) _listeners = [.. _listeners, listener];
    }

    public void Unregister(IEndpointStateListener listener)
    {
        lock (_lock) _listeners = [.. _listeners.Where(l => l != listener)];
    }

    /// <summary>Sets one of this node's application states; it spreads with the next rounds.</summary>
    public void SetApplicationState(ApplicationState key, string value)
    {
        lock (_lock)
        {
            var self = _self ?? throw new InvalidOperationException("Start the gossiper before setting application states.");
            var versioned = new VersionedValue(value, ++_version);
            self.States = self.States.SetItem(key, versioned);
            Enqueue(new PendingEvent(EventKind.Change, LocalEndpoint, self, key, versioned));
            if (key == ApplicationState.Status && NodeStatusText.IsDeadState(NodeStatusText.Parse(value)))
                _logger.LogInformation("This node announced status {Status}", value);
        }
        DispatchEvents();
    }

    public bool IsAlive(NodeAddress endpoint)
    {
        if (endpoint == LocalEndpoint) return true;
        lock (_lock) return _states.TryGetValue(endpoint, out var s) && s.IsAlive;
    }

    public EndpointState? GetEndpointState(NodeAddress endpoint)
    {
        lock (_lock) return _states.GetValueOrDefault(endpoint);
    }

    /// <summary>A copy of every known endpoint and its state (this node included).</summary>
    public IReadOnlyList<KeyValuePair<NodeAddress, EndpointState>> GetEndpointStates()
    {
        lock (_lock) return [.. _states];
    }

    /// <summary>How many endpoints are known (this node included).</summary>
    public int KnownEndpointCount
    {
        get { lock (_lock) return _states.Count; }
    }

    /// <summary>The digest SYN would carry now, one per known endpoint (exposed for benchmarks and tests).</summary>
    public int BuildDigests(Span<GossipDigest> destination)
    {
        lock (_lock)
        {
            var n = 0;
            foreach (var kv in _states)
            {
                if (n == destination.Length) break;
                destination[n++] = new GossipDigest(kv.Key, kv.Value.Generation, kv.Value.MaxVersion);
            }
            return n;
        }
    }

    /// <summary>Encodes the SYN this node would send now and returns its size (for benchmarks).</summary>
    internal int EncodeSynForMeasurement()
    {
        lock (_lock) return EncodeSyn().Length;
    }

    /// <summary>Runs one gossip round now (the timer calls this every interval).</summary>
    public void RunRound()
    {
        lock (_lock)
        {
            if (_self is null || _stopped) return;
            _rounds++;
            _self.HeartbeatVersion = ++_version;
            _self.UpdatedAt = _time.GetTimestamp();

            _live.Clear();
            _unreachable.Clear();
            foreach (var kv in _states)
            {
                if (kv.Key == LocalEndpoint) continue;
                if (kv.Value.IsAlive) _live.Add(kv.Key);
                else if (!NodeStatusText.IsDeadState(kv.Value.Status)) _unreachable.Add(kv.Key);
            }

            var syn = EncodeSyn();
            var gossipedToSeed = false;
            if (_live.Count > 0)
            {
                var target = _live[_random.Next(_live.Count)];
                _transport.Send(target, MessageChannel.Gossip, syn);
                gossipedToSeed = _seeds.Contains(target);
            }
            if (_unreachable.Count > 0 && _random.NextDouble() < _unreachable.Count / (_live.Count + 1.0))
                _transport.Send(_unreachable[_random.Next(_unreachable.Count)], MessageChannel.Gossip, syn);
            if (_seedList.Count > 0 && (!gossipedToSeed || _live.Count < _seedList.Count))
            {
                // Alone: always ask a seed. Otherwise only sometimes, so seeds are not swamped but islands still merge.
                if (_live.Count == 0 || _random.NextDouble() < _seedList.Count / (double)(_live.Count + _unreachable.Count))
                    _transport.Send(_seedList[_random.Next(_seedList.Count)], MessageChannel.Gossip, syn);
            }
            CheckStatus();
        }
        DispatchEvents();
    }

    void IMessageHandler.OnMessage(NodeAddress from, ReadOnlySpan<byte> message)
    {
        lock (_lock)
        {
            if (_self is null || _stopped) return;
            try
            {
                var r = new GossipReader(message, _strings);
                var formatVersion = r.ReadByte();
                if (formatVersion != GossipMessage.FormatVersion)
                    throw new GossipFormatException($"Gossip format version {formatVersion} is not supported (this node speaks {GossipMessage.FormatVersion}); upgrade the older node.");
                var type = (GossipMessageType)r.ReadByte();
                switch (type)
                {
                    case GossipMessageType.Syn:
                        HandleSyn(from, ref r);
                        break;
                    case GossipMessageType.Ack:
                        HandleAck(from, ref r);
                        break;
                    case GossipMessageType.Ack2:
                        HandleAck2(from, ref r);
                        break;
                    case GossipMessageType.Shutdown:
                        HandleShutdown(from, ref r);
                        break;
                    default:
                        throw new GossipFormatException($"Unknown gossip message type {(byte)type}.");
                }
            }
            catch (GossipFormatException e)
            {
                _logger.LogWarning("Dropped a malformed gossip message from {From}: {Reason}", from, e.Message);
            }
        }
        DispatchEvents();
    }

    // The handlers below run under _lock (taken by OnMessage), decoding included: the host-name table is shared.

    private void HandleSyn(NodeAddress from, ref GossipReader r)
    {
        var cluster = r.ReadString();
        var count = r.ReadCount(4);
        if (cluster != Options.ClusterName)
        {
            _logger.LogWarning("Ignored gossip from {From} of cluster '{Cluster}'; this node is in cluster '{Ours}'. Check the seeds and cluster name.", from, cluster, Options.ClusterName);
            return;
        }
        NoteDirectContact(from);
        var stamp = ++_synStamp;
        _requests.Clear();
        _sends.Clear();
        for (var i = 0; i < count; i++)
        {
            var d = new GossipDigest(r.ReadEndpoint(out var id), r.ReadNonNegative(), r.ReadNonNegative());
            var local = Find(d.Endpoint, id);
            if (local is null)
            {
                if (!IsQuarantined(d.Endpoint, d.Generation)) _requests.Add(d with { MaxVersion = 0 });
                continue;
            }
            local.Mark = stamp;
            if (d.Generation > local.Generation) _requests.Add(d with { MaxVersion = 0 });
            else if (d.Generation < local.Generation) _sends.Add((d.Endpoint, local, -1));
            else
            {
                var localMax = local.MaxVersion;
                if (d.MaxVersion > localMax) _requests.Add(d with { MaxVersion = localMax });
                else if (d.MaxVersion < localMax) _sends.Add((d.Endpoint, local, d.MaxVersion));
            }
        }
        foreach (var kv in _states)
            if (kv.Value.Mark != stamp) _sends.Add((kv.Key, kv.Value, -1));

        _writer.Reset();
        _writer.WriteByte(GossipMessage.FormatVersion);
        _writer.WriteByte((byte)GossipMessageType.Ack);
        _writer.WriteVarint((ulong)_requests.Count);
        foreach (var d in _requests) d.Write(_writer);
        _writer.WriteVarint((ulong)_sends.Count);
        foreach (var (endpoint, state, newerThan) in _sends) EndpointDelta.Write(_writer, endpoint, state, newerThan);
        _transport.Send(from, MessageChannel.Gossip, _writer.Written);
    }

    private void HandleAck(NodeAddress from, ref GossipReader r)
    {
        var requestCount = r.ReadCount(4);
        _ackRequests.Clear();
        for (var i = 0; i < requestCount; i++)
        {
            var endpoint = r.ReadEndpoint(out var id);
            _ackRequests.Add((new GossipDigest(endpoint, r.ReadNonNegative(), r.ReadNonNegative()), id, null));
        }
        var deltaCount = r.ReadCount(6);
        NoteDirectContact(from);
        for (var i = 0; i < deltaCount; i++) Apply(ref r);
        if (requestCount == 0) return;
        _writer.Reset();
        _writer.WriteByte(GossipMessage.FormatVersion);
        _writer.WriteByte((byte)GossipMessageType.Ack2);
        // Looked up after the deltas were applied, as they may have added or replaced states.
        var answered = 0;
        for (var i = 0; i < _ackRequests.Count; i++)
        {
            var (req, id, _) = _ackRequests[i];
            var local = Find(req.Endpoint, id);
            _ackRequests[i] = (req, id, local);
            if (local is not null) answered++;
        }
        _writer.WriteVarint((ulong)answered);
        foreach (var (req, _, local) in _ackRequests)
        {
            if (local is null) continue;
            // A request for another generation than ours is answered with everything we have.
            EndpointDelta.Write(_writer, req.Endpoint, local, local.Generation == req.Generation ? req.MaxVersion : -1);
        }
        _transport.Send(from, MessageChannel.Gossip, _writer.Written);
    }

    private void HandleAck2(NodeAddress from, ref GossipReader r)
    {
        var count = r.ReadCount(6);
        NoteDirectContact(from);
        for (var i = 0; i < count; i++) Apply(ref r);
    }

    private void HandleShutdown(NodeAddress from, ref GossipReader r)
    {
        var generation = r.ReadNonNegative();
        if (!_states.TryGetValue(from, out var state) || state.Generation != generation) return;
        _logger.LogInformation("{Endpoint} announced it is shutting down", from);
        MarkDead(from, state);
    }

    /// <summary>A message straight from an endpoint proves it is running: mark it up if we already know its state.</summary>
    private void NoteDirectContact(NodeAddress from)
    {
        if (from == LocalEndpoint || !_states.TryGetValue(from, out var state)) return;
        var now = _time.GetTimestamp();
        ReportArrival(from, state, now);
        if (!state.IsAlive && !NodeStatusText.IsDeadState(state.Status)) MarkAlive(from, state);
    }

    /// <summary>Reads one endpointDelta and applies it; the common case (only a newer heartbeat) allocates one HeartbeatState.</summary>
    private void Apply(ref GossipReader r)
    {
        var endpoint = r.ReadEndpoint(out var id);
        var generation = r.ReadNonNegative();
        var heartbeatVersion = r.ReadNonNegative();
        var count = r.ReadCount(3);
        var states = count == 0 ? [] : new KeyValuePair<ApplicationState, VersionedValue>[count];
        for (var i = 0; i < count; i++)
        {
            var key = (ApplicationState)r.ReadByte();
            var version = r.ReadNonNegative();
            states[i] = new(key, new VersionedValue(r.ReadString(), version));
        }
        if (endpoint == LocalEndpoint) return; // nobody knows more about this node than itself
        var local = Find(endpoint, id);
        if (local is not null && generation == local.Generation && count == 0)
        {
            // The common case, a heartbeat only: no allocation.
            if (heartbeatVersion > local.HeartbeatVersion) AdvanceHeartbeat(endpoint, local, heartbeatVersion);
            return;
        }
        Apply(new EndpointDelta(endpoint, new HeartbeatState(generation, heartbeatVersion), states));
    }

    private static bool HasStatus(IReadOnlyList<KeyValuePair<ApplicationState, VersionedValue>> states)
    {
        foreach (var kv in states)
            if (kv.Key == ApplicationState.Status) return true;
        return false;
    }

    private void AdvanceHeartbeat(NodeAddress endpoint, EndpointState local, long version)
    {
        var now = _time.GetTimestamp();
        local.HeartbeatVersion = version;
        local.UpdatedAt = now;
        ReportArrival(endpoint, local, now);
        if (!local.IsAlive && !NodeStatusText.IsDeadState(local.Status)) MarkAlive(endpoint, local);
    }

    private void Apply(EndpointDelta delta)
    {
        var endpoint = delta.Endpoint;
        if (endpoint == LocalEndpoint) return; // nobody knows more about this node than itself
        var now = _time.GetTimestamp();
        if (!_states.TryGetValue(endpoint, out var local))
        {
            if (IsQuarantined(endpoint, delta.Heartbeat.Generation)) return;
            // The first delta about an endpoint comes in full (we had no digest for it) and every node publishes its
            // status from its start. One without a status answers an exchange that an earlier incarnation of this node
            // began (a peer paused with our old SYN queued, then answering it after our restart): it holds only what
            // that incarnation lacked. Learned from it, the endpoint would stay stateless for good, since our digests
            // would then claim its newest version. Wait for a full delta instead.
            if (!HasStatus(delta.States)) return;
            var added = new EndpointState(delta.Heartbeat, ApplicationStateMap.Create(delta.States)) { UpdatedAt = now };
            Store(endpoint, added);
            ReportArrival(endpoint, added, now);
            Enqueue(new PendingEvent(EventKind.Join, endpoint, added));
            if (NodeStatusText.IsDeadState(added.Status)) added.ForgetAt = now + _quarantineTicks;
            return;
        }

        if (delta.Heartbeat.Generation > local.Generation)
        {
            // The endpoint restarted: its new incarnation replaces everything we knew.
            _logger.LogInformation("{Endpoint} restarted (generation {Old} -> {New})", endpoint, local.Generation, delta.Heartbeat.Generation);
            if (local.IsAlive) MarkDead(endpoint, local);
            var replaced = new EndpointState(delta.Heartbeat, ApplicationStateMap.Create(delta.States)) { UpdatedAt = now };
            Store(endpoint, replaced);
            _failureDetector.Remove(endpoint);
            ReportArrival(endpoint, replaced, now);
            Enqueue(new PendingEvent(EventKind.Restart, endpoint, replaced));
            Enqueue(new PendingEvent(EventKind.Join, endpoint, replaced));
            if (NodeStatusText.IsDeadState(replaced.Status)) replaced.ForgetAt = now + _quarantineTicks;
            else MarkAlive(endpoint, replaced);
            return;
        }
        if (delta.Heartbeat.Generation < local.Generation) return; // news about a previous incarnation

        if (delta.Heartbeat.Version > local.HeartbeatVersion) AdvanceHeartbeat(endpoint, local, delta.Heartbeat.Version);
        var states = local.States;
        var changed = false;
        foreach (var kv in delta.States)
        {
            if (states.TryGetValue(kv.Key, out var existing) && existing.Version >= kv.Value.Version) continue;
            states = states.SetItem(kv.Key, kv.Value);
            changed = true;
            Enqueue(new PendingEvent(EventKind.Change, endpoint, local, kv.Key, kv.Value));
        }
        if (!changed) return;
        local.States = states;
        local.UpdatedAt = now;
        if (NodeStatusText.IsDeadState(local.Status))
        {
            if (local.ForgetAt == 0) local.ForgetAt = now + _quarantineTicks;
            if (local.IsAlive) MarkDead(endpoint, local);
        }
    }

    /// <summary>Convicts silent endpoints and forgets those that left or expired. Under the lock.</summary>
    private void CheckStatus()
    {
        var now = _time.GetTimestamp();
        List<NodeAddress>? forget = null;
        foreach (var kv in _states)
        {
            if (kv.Key == LocalEndpoint) continue;
            var state = kv.Value;
            if (NodeStatusText.IsDeadState(state.Status))
            {
                if (state.ForgetAt == 0) state.ForgetAt = now + _quarantineTicks;
                if (now >= state.ForgetAt) (forget ??= []).Add(kv.Key);
                continue;
            }
            if (state.IsAlive)
            {
                bool available;
                if (_phi is null) available = _failureDetector.IsAvailable(kv.Key, now);
                else if (_ownsDetector && state.DetectorEpoch == _phi.Epoch) available = now <= state.ConvictAfter; // no window read: a cache miss per peer per round
                else available = _phi.IsAvailable(kv.Key, now, state.Window);
                if (!available) MarkDead(kv.Key, state);
            }
            else if (now - state.UpdatedAt > _expiryTicks)
            {
                (forget ??= []).Add(kv.Key);
            }
        }
        if (forget is not null)
        {
            foreach (var endpoint in forget)
            {
                var state = _states[endpoint];
                _states.Remove(endpoint);
                if (state.Id >= 0) _byId[state.Id] = null;
                _failureDetector.Remove(endpoint);
                _quarantine[endpoint] = (state.Generation, now + _quarantineTicks);
                Enqueue(new PendingEvent(EventKind.Remove, endpoint, state));
                _logger.LogInformation("Forgot {Endpoint} ({Status})", endpoint, state.Status);
            }
        }
        if (_quarantine.Count > 0)
        {
            List<NodeAddress>? expired = null;
            foreach (var kv in _quarantine) if (now >= kv.Value.Until) (expired ??= []).Add(kv.Key);
            if (expired is not null) foreach (var e in expired) _quarantine.Remove(e);
        }
    }

    /// <summary>The state of <paramref name="endpoint"/> whose table id (from decoding it) is <paramref name="id"/>, or null.</summary>
    private EndpointState? Find(NodeAddress endpoint, int id)
    {
        if (id < 0) return _states.GetValueOrDefault(endpoint);
        return (uint)id < (uint)_byId.Length ? _byId[id] : null;
    }

    /// <summary>Adds or replaces the state of <paramref name="endpoint"/> (the only way states enter <c>_states</c>).</summary>
    private void Store(NodeAddress endpoint, EndpointState state)
    {
        _states[endpoint] = state;
        var id = _strings.IdOf(endpoint, out var encoded);
        state.Id = id;
        state.EncodedEndpoint ??= encoded;
        if (id < 0) return;
        if (id >= _byId.Length) Array.Resize(ref _byId, Math.Max(id + 1, Math.Max(16, _byId.Length * 2)));
        _byId[id] = state;
    }

    private void ReportArrival(NodeAddress endpoint, EndpointState state, long now)
    {
        if (_phi is null) _failureDetector.Report(endpoint, now);
        else
        {
            state.Window = _phi.Report(endpoint, now, state.Window, this, out var convictAfter, out var epoch);
            state.ConvictAfter = convictAfter;
            state.DetectorEpoch = epoch;
        }
    }

    private bool IsQuarantined(NodeAddress endpoint, long generation) =>
        _quarantine.TryGetValue(endpoint, out var q) && generation <= q.Generation;

    private void MarkAlive(NodeAddress endpoint, EndpointState state)
    {
        state.IsAlive = true;
        Enqueue(new PendingEvent(EventKind.Alive, endpoint, state));
        _logger.LogInformation("{Endpoint} is up", endpoint);
    }

    private void MarkDead(NodeAddress endpoint, EndpointState state)
    {
        if (!state.IsAlive) return;
        state.IsAlive = false;
        Enqueue(new PendingEvent(EventKind.Dead, endpoint, state));
        _logger.LogInformation("{Endpoint} is down", endpoint);
    }

    private ReadOnlySpan<byte> EncodeSyn()
    {
        _writer.Reset();
        _writer.WriteByte(GossipMessage.FormatVersion);
        _writer.WriteByte((byte)GossipMessageType.Syn);
        _writer.WriteString(Options.ClusterName);
        _writer.WriteVarint((ulong)_states.Count);
        foreach (var kv in _states)
        {
            _writer.WriteEndpoint(kv.Key, kv.Value);
            _writer.WriteVarint(kv.Value.Generation);
            _writer.WriteVarint(kv.Value.MaxVersion);
        }
        return _writer.Written;
    }

    private void Enqueue(PendingEvent ev)
    {
        _events.Enqueue(ev);
        Volatile.Write(ref _pendingEvents, _events.Count);
    }

    private void DispatchEvents()
    {
        if (Volatile.Read(ref _pendingEvents) == 0) return;
        lock (_dispatchGate)
        {
            while (true)
            {
                PendingEvent ev;
                IEndpointStateListener[] listeners;
                lock (_lock)
                {
                    if (!_events.TryDequeue(out ev)) return;
                    _pendingEvents = _events.Count;
                    listeners = _listeners;
                }
                foreach (var l in listeners)
                {
                    switch (ev.Kind)
                    {
                        case EventKind.Join: l.OnJoin(ev.Endpoint, ev.State); break;
                        case EventKind.Change: l.OnChange(ev.Endpoint, ev.Key, ev.Value); break;
                        case EventKind.Alive: l.OnAlive(ev.Endpoint, ev.State); break;
                        case EventKind.Dead: l.OnDead(ev.Endpoint, ev.State); break;
                        case EventKind.Restart: l.OnRestart(ev.Endpoint, ev.State); break;
                        case EventKind.Remove: l.OnRemove(ev.Endpoint); break;
                    }
                }
            }
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private enum EventKind : byte { Join, Change, Alive, Dead, Restart, Remove }

    private readonly record struct PendingEvent(EventKind Kind, NodeAddress Endpoint, EndpointState State, ApplicationState Key = default, VersionedValue Value = default);
}
