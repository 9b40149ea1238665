using System.Buffers.Binary;
using System.Threading.Tasks.Sources;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Hints;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Replica;
using Kv.Node.Time;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// Coordinates one client read or write across the replicas of its key: timestamps writes with the
/// node's HLC, sends to every natural replica, answers after the consistency level's count of
/// acknowledgements, stores hints for replicas that are down or fail, and resolves reads by timestamp
/// with blocking read repair.
/// </summary>
/// <remarks>
/// Reads: round 1 asks the first live replica (this node first when it is a replica) for the full value
/// and the next <c>blockFor - 1</c> for digests. If every answer came and the digests agree, that is the
/// answer. Otherwise round 2 asks every live replica for its full value, needs <c>blockFor</c> answers,
/// picks the newest version (<see cref="ReplicaCell.Supersedes"/>), and writes it to every replica that
/// answered with something else, waiting for those writes before answering: so once a read at QUORUM
/// returned a value, every later QUORUM read returns it or something newer (monotonic reads).
/// Threading: thread-safe and stateless per request; any number of requests run concurrently.
/// </remarks>
public sealed class Coordinator : IReplicaBatchSender<Coordinator.ReplicaWrite>, IReplicaBatchSender<Coordinator.BatchedRead>
{
    private readonly NodeAddress _local;
    private readonly MessagingService _messaging;
    private readonly ILocalReplicaStore _localStore;
    private readonly Func<ReplicaPlacement> _placement;
    private readonly IEndpointLiveness _liveness;
    private readonly HybridLogicalClock _clock;
    private readonly HintedHandoff? _hints;
    private readonly CoordinatorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _readRepairs;
    private long _pendingReplicaWrites;
    private long _fallbackWrites;

    public Coordinator(NodeAddress local, MessagingService messaging, ILocalReplicaStore localStore, Func<ReplicaPlacement> placement,
        IEndpointLiveness liveness, HybridLogicalClock clock, HintedHandoff? hints = null, CoordinatorOptions? options = null,
        TimeProvider? time = null, ILogger? logger = null)
    {
        _local = local;
        _messaging = messaging;
        _localStore = localStore;
        _placement = placement;
        _liveness = liveness;
        _clock = clock;
        _hints = hints;
        _options = options ?? new CoordinatorOptions();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    public NodeAddress LocalAddress => _local;

    public ReplicaPlacement Placement => _placement();

    /// <summary>The configured replicas per key; consistency levels count against it (see <see cref="ConsistencyLevels.BlockFor"/>).</summary>
    private int ReplicationFactor => _placement().Strategy.ReplicationFactor;

    public IEndpointLiveness Liveness => _liveness;

    public TimeProvider Time => _time;

    /// <summary>
    /// Replica writes still awaiting their outcome (ack, failure or hint), including those of requests already
    /// answered: a QUORUM write returns after 2 acks while the third replica's send may still time out into a hint.
    /// </summary>
    public long PendingReplicaWrites => Interlocked.Read(ref _pendingReplicaWrites);

    /// <summary>Sloppy-quorum writes a fallback node acknowledged (as a hint) for a replica that was down, since start.</summary>
    public long FallbackWrites => Interlocked.Read(ref _fallbackWrites);

    /// <summary>Replicas rewritten by blocking read repair since start.</summary>
    public long ReadRepairs => Interlocked.Read(ref _readRepairs);

    public static byte[] StorageKeyOf(ReadOnlySpan<byte> userKey)
    {
        var key = new byte[Partitioner.TokenPrefixLength + userKey.Length];
        Partitioner.WriteStorageKey(key, userKey);
        return key;
    }

    public bool IsAlive(NodeAddress endpoint) => endpoint == _local || _liveness.IsAlive(endpoint);

    /// <summary>Writes a value or tombstone of <paramref name="userKey"/> at <paramref name="level"/>; returns the timestamp it was written with.</summary>
    /// <exception cref="ClusterRequestException">Too few replicas are up, or too few acknowledged in time.</exception>
    /// <remarks>
    /// The key and value are copied first: replica sends outlive the returned task (a QUORUM write answers after two
    /// acks while the third replica's send may still time out into a hint), and the caller's buffers are free once it
    /// answers (a RESP connection reuses its input buffer for the next requests).
    /// </remarks>
    public async ValueTask<long> WriteAsync(ReadOnlyMemory<byte> userKey, MutationKind kind, ReadOnlyMemory<byte> value, long expiresAtUnixMs, ConsistencyLevel level, CancellationToken cancellationToken = default)
    {
        var mutation = OwnedMutation(userKey, kind, value, expiresAtUnixMs);
        await WriteCoreAsync(mutation, level, cancellationToken).ConfigureAwait(false);
        return mutation.Timestamp;
    }

    /// <summary>As <see cref="WriteAsync"/> for callers that do not need the timestamp (the RESP commands): the
    /// coordinated write's own task, with no state machine around it.</summary>
    public ValueTask WriteBlindAsync(ReadOnlyMemory<byte> userKey, MutationKind kind, ReadOnlyMemory<byte> value, long expiresAtUnixMs, ConsistencyLevel level, CancellationToken cancellationToken = default) =>
        WriteCoreAsync(OwnedMutation(userKey, kind, value, expiresAtUnixMs), level, cancellationToken);

    /// <summary>A mutation that owns copies of the key (as a storage key) and value, timestamped now.</summary>
    private MutationRequest OwnedMutation(ReadOnlyMemory<byte> userKey, MutationKind kind, ReadOnlyMemory<byte> value, long expiresAtUnixMs)
    {
        if (kind == MutationKind.Tombstone) value = ReadOnlyMemory<byte>.Empty;
        var keyLength = Partitioner.TokenPrefixLength + userKey.Length;
        var owned = new byte[keyLength + value.Length]; // storage key, then value: one allocation for both
        Partitioner.WriteStorageKey(owned, userKey.Span);
        value.Span.CopyTo(owned.AsSpan(keyLength));
        return new MutationRequest(owned.AsMemory(0, keyLength), owned.AsMemory(keyLength), _clock.Now(), expiresAtUnixMs, kind);
    }

    /// <summary>Sends an already timestamped mutation to the replicas of its key at <paramref name="level"/>; returns its timestamp.</summary>
    /// <remarks>The mutation's memory must stay unchanged until every replica send ended (see <see cref="PendingReplicaWrites"/>), not just until this returns.</remarks>
    public async ValueTask<long> WriteMutationAsync(MutationRequest mutation, ConsistencyLevel level, CancellationToken cancellationToken = default)
    {
        await WriteCoreAsync(mutation, level, cancellationToken).ConfigureAwait(false);
        return mutation.Timestamp;
    }

    private async ValueTask WriteCoreAsync(MutationRequest mutation, ConsistencyLevel level, CancellationToken cancellationToken)
    {
        var replicas = ReplicasOf(mutation.StorageKey.Span);
        var blockFor = level.BlockFor(ReplicationFactor);
        var alive = 0;
        foreach (var r in replicas) if (IsAlive(r)) alive++;
        var fallbacks = alive < replicas.Length && _options.SloppyQuorum && level != ConsistencyLevel.Any && level != ConsistencyLevel.All
            ? LiveFallbacksOf(mutation.StorageKey.Span, replicas.Length - alive)
            : [];
        if (level != ConsistencyLevel.Any && alive + fallbacks.Length < blockFor) throw new UnavailableException(level, "write", alive, blockFor, replicas.Length);

        var tracker = new WriteTracker(blockFor, replicas.Length, hintsCount: level == ConsistencyLevel.Any, _options.RunContinuationsAsynchronously);
        var nextFallback = 0;
        var local = false;
        foreach (var replica in replicas)
        {
            if (replica == _local) local = true; // applied after the sends, so the network round trips overlap it
            else if (IsAlive(replica)) SendMutation(replica, mutation, tracker, cancellationToken);
            else if (nextFallback < fallbacks.Length) _ = SendToFallbackAsync(fallbacks[nextFallback++], replica, mutation, tracker, cancellationToken);
            else if (Hint(replica, mutation)) tracker.HintStored();
            else tracker.Failed();
        }
        if (local) _ = ApplyLocallyAsync(mutation, tracker, cancellationToken);

        bool ok;
        try
        {
            // Remote sends time out on their own; this bounds a local apply stuck on its disk.
            ok = await tracker.Completion.WaitAsync(_options.WriteTimeout + _options.WriteTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ok = false;
        }
        if (!ok)
        {
            var hinted = tracker.Hinted;
            throw new ReplicaTimeoutException(level, "write", tracker.Acks, blockFor, replicas.Length,
                hinted > 0 ? $"hints stored for {hinted}; the write may be visible later" : "the write may have been applied on some replicas");
        }
    }

    private async Task ApplyLocallyAsync(MutationRequest mutation, WriteTracker tracker, CancellationToken cancellationToken)
    {
        try
        {
            await _localStore.ApplyAsync(mutation, cancellationToken).ConfigureAwait(false);
            tracker.Acknowledged();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Local replica write failed");
            tracker.Failed();
        }
    }

    /// <summary>Sends to one replica; an ack counts, anything else stores a hint. The outcome arrives as a callback
    /// (<see cref="ReplicaWrite"/>), not as an awaited task: one small object per replica write instead of a state
    /// machine, a task and a continuation.</summary>
    private void SendMutation(NodeAddress replica, MutationRequest mutation, WriteTracker tracker, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pendingReplicaWrites);
        var write = new ReplicaWrite(this, replica, mutation, tracker);
        // On a socket I/O thread a write after the event's first to this replica waits for the end of the event, to go
        // out with the event's other writes to it (ReplicaBatches).
        var bytes = mutation.StorageKey.Length + mutation.Value.Length;
        if (_options.BatchReplicaRequests && ReplicaBatches<ReplicaWrite>.ShouldHold(this, replica, bytes, cancellationToken))
        {
            ReplicaBatches<ReplicaWrite>.Hold(this, replica, write, bytes, cancellationToken);
            return;
        }
        Send(write, cancellationToken);
    }

    private void Send(ReplicaWrite write, CancellationToken cancellationToken)
    {
        try
        {
            _messaging.SendRequest(write.Replica, InternodeVerb.Mutation, write.Mutation, _options.WriteTimeout, write, cancellationToken);
        }
        catch (Exception e)
        {
            write.OnFailure(e);
        }
    }

    /// <summary>Sends writes gathered for one replica: one Mutation request, or one MutationBatch for several, whose
    /// single answer is every write's outcome (the replica applies a batch all or none).</summary>
    void IReplicaBatchSender<ReplicaWrite>.SendBatch(NodeAddress replica, ReplicaWrite[] writes, CancellationToken cancellationToken)
    {
        if (writes.Length == 1)
        {
            Send(writes[0], cancellationToken);
            return;
        }
        var batch = new ReplicaWriteBatch(writes);
        try
        {
            var mutations = new MutationRequest[writes.Length];
            for (var i = 0; i < writes.Length; i++) mutations[i] = writes[i].Mutation;
            _messaging.SendRequest(replica, InternodeVerb.MutationBatch, new MutationBatchRequest(mutations), _options.WriteTimeout, batch, cancellationToken);
        }
        catch (Exception e)
        {
            batch.OnFailure(e);
        }
    }

    /// <summary>The outcome of a batch, passed to each of its writes.</summary>
    private sealed class ReplicaWriteBatch(ReplicaWrite[] writes) : IResponseCallback<MutationResponse>
    {
        public void OnResponse(MutationResponse response)
        {
            foreach (var write in writes) write.OnResponse(response);
        }

        public void OnFailure(Exception error)
        {
            foreach (var write in writes) write.OnFailure(error);
        }
    }

    /// <summary>One replica's write in flight: counts its ack, or hints it on any failure (timeout, refusal, a remote
    /// error): the replica may lack the write. Called exactly once, by the messaging service (alone or as part of a
    /// batch) or by <see cref="Send"/>.</summary>
    internal sealed class ReplicaWrite(Coordinator coordinator, NodeAddress replica, MutationRequest mutation, WriteTracker tracker) : IResponseCallback<MutationResponse>
    {
        public NodeAddress Replica => replica;

        public MutationRequest Mutation => mutation;

        public void OnResponse(MutationResponse response)
        {
            if (response.Ok)
            {
                tracker.Acknowledged();
                Interlocked.Decrement(ref coordinator._pendingReplicaWrites);
            }
            else
            {
                Failed(response.Error);
            }
        }

        public void OnFailure(Exception error) => Failed(error.Message);

        /// <summary>Logs the failure and hints the write: inline when the coordinator runs continuations inline (a
        /// kv-node, and the simulator, which must stay on its one thread), else on the thread pool, where an awaited
        /// send would have resumed.</summary>
        private void Failed(string? reason)
        {
            coordinator._logger.LogDebug("Write to {Replica} failed: {Reason}", replica, reason);
            if (coordinator._options.RunContinuationsAsynchronously) ThreadPool.UnsafeQueueUserWorkItem(static write => write.HintIt(), this, preferLocal: false);
            else HintIt();
        }

        private void HintIt()
        {
            try
            {
                if (coordinator.Hint(replica, mutation)) tracker.HintStored();
                else tracker.Failed();
            }
            catch (Exception e)
            {
                coordinator._logger.LogError(e, "Hinting a write for {Replica} failed", replica);
                tracker.Failed();
            }
            finally
            {
                Interlocked.Decrement(ref coordinator._pendingReplicaWrites);
            }
        }
    }

    /// <summary>
    /// Sloppy quorum: <paramref name="fallback"/> keeps the write as a durable hint for <paramref name="replica"/> (this
    /// node's own hint store when it is the fallback), and that counts as an acknowledgement. If the fallback fails,
    /// the coordinator keeps the hint itself, which does not count.
    /// </summary>
    private async Task SendToFallbackAsync(NodeAddress fallback, NodeAddress replica, MutationRequest mutation, WriteTracker tracker, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pendingReplicaWrites);
        try
        {
            bool stored;
            if (fallback == _local)
            {
                stored = Hint(replica, mutation);
            }
            else
            {
                try
                {
                    var response = await _messaging.SendHintedMutationAsync(fallback, new HintedMutationRequest(replica.Host, replica.Port, mutation), _options.WriteTimeout, cancellationToken).ConfigureAwait(false);
                    stored = response.Ok;
                    if (!stored) _logger.LogDebug("Fallback {Fallback} refused a hint for {Replica}: {Reason}", fallback, replica, response.Error);
                }
                catch (Exception e)
                {
                    _logger.LogDebug("Fallback {Fallback} failed for {Replica}: {Reason}", fallback, replica, e.Message);
                    stored = false;
                }
            }
            if (stored)
            {
                Interlocked.Increment(ref _fallbackWrites);
                tracker.Acknowledged();
            }
            else if (fallback != _local && Hint(replica, mutation)) tracker.HintStored();
            else tracker.Failed();
        }
        finally
        {
            Interlocked.Decrement(ref _pendingReplicaWrites);
        }
    }

    /// <summary>Up to <paramref name="wanted"/> live endpoints that follow the key's replicas clockwise and are not replicas (this node included).</summary>
    private NodeAddress[] LiveFallbacksOf(ReadOnlySpan<byte> storageKey, int wanted)
    {
        var placement = _placement();
        var endpoints = placement.Ring.Endpoints.Length;
        var list = new int[endpoints];
        var total = PreferenceList.Fill(placement, BinaryPrimitives.ReadUInt64BigEndian(storageKey), endpoints, liveness: null, list, out var natural);
        var chosen = new List<NodeAddress>(wanted);
        for (var i = natural; i < total && chosen.Count < wanted; i++)
        {
            var endpoint = placement.Ring.Endpoint(list[i]);
            if (IsAlive(endpoint)) chosen.Add(endpoint);
        }
        return [.. chosen];
    }

    private bool Hint(NodeAddress replica, in MutationRequest mutation) =>
        _options.HintedHandoff && _hints is not null && _hints.TryHint(replica, mutation);

    /// <summary>Reads <paramref name="userKey"/> at <paramref name="level"/>: the newest version among the replicas that answered (expired values included; see <see cref="ReplicaCell.IsLive"/>).</summary>
    /// <exception cref="ClusterRequestException">Too few replicas are up, or too few answered (or were repaired) in time.</exception>
    public async ValueTask<ReplicaCell> ReadAsync(ReadOnlyMemory<byte> userKey, ConsistencyLevel level, CancellationToken cancellationToken = default)
    {
        if (level == ConsistencyLevel.Any) throw new InvalidConsistencyException("consistency level ANY applies to writes only; read at ONE or higher");
        var storageKey = StorageKeyOf(userKey.Span);
        var replicas = ReplicasOf(storageKey);
        var blockFor = level.BlockFor(ReplicationFactor);
        var live = new List<NodeAddress>(replicas.Length);
        foreach (var r in replicas) if (r == _local) live.Insert(0, r); else if (_liveness.IsAlive(r)) live.Add(r);
        if (live.Count < blockFor) throw new UnavailableException(level, "read", live.Count, blockFor, replicas.Length);

        // Round 1: data from the closest, digests from the rest of blockFor. The remote requests go on the wire first,
        // then this node reads its own copy (live[0] when it is a replica) while they travel. The common round is
        // awaited here directly, without a task per replica or a WhenAll: it is most of what a read costs the
        // coordinator.
        var dataRequest = live[0] == _local ? default : StartRead(live[0], storageKey, digestOnly: false, cancellationToken);
        var digestRequests = blockFor > 1 ? new ValueTask<ReadResponse>[blockFor - 1] : [];
        for (var i = 1; i < blockFor; i++) digestRequests[i - 1] = StartRead(live[i], storageKey, digestOnly: true, cancellationToken);
        ReplicaCell? data;
        try
        {
            data = live[0] == _local
                ? await _localStore.ReadAsync(storageKey, cancellationToken).ConfigureAwait(false)
                : ReplicaCell.FromResponse(await dataRequest.ConfigureAwait(false));
        }
        catch (Exception e) when (IsReplicaFailure(e))
        {
            _logger.LogDebug("Read from {Replica} failed: {Reason}", live[0], e.Message);
            data = null;
        }
        var agree = data is not null;
        var digest = data?.Digest ?? 0;
        for (var i = 0; i < digestRequests.Length; i++)
        {
            try
            {
                // Every request is awaited, even after a disagreement: each has one consumer, and it is this loop.
                var answer = await digestRequests[i].ConfigureAwait(false);
                agree &= answer.Digest == digest;
            }
            catch (Exception e) when (IsReplicaFailure(e))
            {
                _logger.LogDebug("Read from {Replica} failed: {Reason}", live[i + 1], e.Message);
                agree = false;
            }
        }
        if (agree) return data!.Value;

        // Round 2: full values from every live replica, newest wins, repair the stale ones.
        var full = new Task<ReadResponse?>[live.Count];
        for (var i = 0; i < live.Count; i++) full[i] = ReadReplicaAsync(live[i], storageKey, digestOnly: false, cancellationToken);
        await Task.WhenAll(full).ConfigureAwait(false);
        var answered = 0;
        var winner = ReplicaCell.Absent;
        foreach (var t in full)
        {
            if (t.Result is not { } r) continue;
            answered++;
            var cell = ReplicaCell.FromResponse(r);
            if (ReplicaCell.Supersedes(cell, winner)) winner = cell;
        }
        if (answered < blockFor) throw new ReplicaTimeoutException(level, "read", answered, blockFor, replicas.Length, "too few replicas answered in time");
        if (winner.Outcome == ReadOutcome.Absent) return winner;

        var winnerDigest = winner.Digest;
        var repair = winner.ToMutation(storageKey);
        var repairs = new List<Task<bool>>();
        for (var i = 0; i < live.Count; i++)
        {
            if (full[i].Result is { } r && ValueDigest.Of(r) != winnerDigest) repairs.Add(RepairAsync(live[i], repair, cancellationToken));
        }
        if (repairs.Count == 0) return winner;
        await Task.WhenAll(repairs).ConfigureAwait(false);
        var current = answered - repairs.Count;
        foreach (var t in repairs) if (t.Result) current++;
        Interlocked.Add(ref _readRepairs, repairs.Count);
        if (current < blockFor)
            throw new ReplicaTimeoutException(level, "read repair", current, blockFor, replicas.Length, "replicas disagreed and too few could be repaired in time");
        return winner;
    }

    /// <summary>A range read's repair of one stale replica (SCAN): like a point read's, counted with them; a replica that
    /// cannot take it gets a hint. Returns whether the replica has the version now.</summary>
    internal Task<bool> RepairForScanAsync(NodeAddress replica, MutationRequest repair, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _readRepairs);
        return RepairAsync(replica, repair, cancellationToken);
    }

    private async Task<bool> RepairAsync(NodeAddress replica, MutationRequest repair, CancellationToken cancellationToken)
    {
        try
        {
            if (replica == _local)
            {
                await _localStore.ApplyAsync(repair, cancellationToken).ConfigureAwait(false);
                return true;
            }
            var response = await _messaging.SendMutationAsync(replica, repair, _options.ReadTimeout, cancellationToken).ConfigureAwait(false);
            if (response.Ok) return true;
        }
        catch (Exception e) when (e is InternodeException or OperationCanceledException or IOException)
        {
            _logger.LogDebug("Read repair of {Replica} failed: {Reason}", replica, e.Message);
        }
        Hint(replica, repair);
        return false;
    }

    /// <summary>Sends a read to a remote replica; a refusal to send comes back as a failed task, never as a throw. On a
    /// socket I/O thread a digest read after the event's first to this replica waits for the end of the event, to go
    /// out with the event's other digest reads of it (<see cref="ReplicaBatches{TItem}"/>). Full reads always go alone:
    /// their answers carry values, and a batch of large ones could outgrow an internode frame.</summary>
    private ValueTask<ReadResponse> StartRead(NodeAddress replica, byte[] storageKey, bool digestOnly, CancellationToken cancellationToken)
    {
        var request = new ReadRequest(storageKey, digestOnly);
        if (digestOnly && _options.BatchReplicaRequests && ReplicaBatches<BatchedRead>.ShouldHold(this, replica, storageKey.Length, cancellationToken))
        {
            var read = new BatchedRead(replica, request, _options.RunContinuationsAsynchronously);
            ReplicaBatches<BatchedRead>.Hold(this, replica, read, storageKey.Length, cancellationToken);
            return read.Task;
        }
        try
        {
            return _messaging.SendReadAsync(replica, request, _options.ReadTimeout, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<ReadResponse>(e);
        }
    }

    void IReplicaBatchSender<BatchedRead>.SendBatch(NodeAddress replica, BatchedRead[] reads, CancellationToken cancellationToken)
    {
        try
        {
            if (reads.Length == 1)
            {
                _messaging.SendRequest(replica, InternodeVerb.Read, reads[0].Request, _options.ReadTimeout, reads[0], cancellationToken);
                return;
            }
            var requests = new ReadRequest[reads.Length];
            for (var i = 0; i < reads.Length; i++) requests[i] = reads[i].Request;
            _messaging.SendRequest(replica, InternodeVerb.ReadBatch, new ReadBatchRequest(requests), _options.ReadTimeout, new ReadBatch(reads), cancellationToken);
        }
        catch (Exception e)
        {
            foreach (var read in reads) read.OnFailure(e);
        }
    }

    /// <summary>A read held for a batch: the source of the task its reader awaits, completed by the batch's answer.
    /// Never reused, so its token is always 0.</summary>
    internal sealed class BatchedRead : IValueTaskSource<ReadResponse>, IResponseCallback<ReadResponse>
    {
        private ManualResetValueTaskSourceCore<ReadResponse> _completion;

        public BatchedRead(NodeAddress replica, ReadRequest request, bool runContinuationsAsynchronously)
        {
            Replica = replica;
            Request = request;
            _completion.RunContinuationsAsynchronously = runContinuationsAsynchronously;
        }

        public NodeAddress Replica { get; }

        public ReadRequest Request { get; }

        public ValueTask<ReadResponse> Task => new(this, 0);

        public void OnResponse(ReadResponse response) => _completion.SetResult(response);

        public void OnFailure(Exception error) => _completion.SetException(error);

        ReadResponse IValueTaskSource<ReadResponse>.GetResult(short token) => _completion.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<ReadResponse>.GetStatus(short token) => _completion.GetStatus(token);

        void IValueTaskSource<ReadResponse>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>The answer to a batch of reads, handed to each read in order.</summary>
    private sealed class ReadBatch(BatchedRead[] reads) : IResponseCallback<ReadBatchResponse>
    {
        public void OnResponse(ReadBatchResponse response)
        {
            var results = response.Results;
            if (results is null || results.Length != reads.Length)
            {
                OnFailure(new MalformedResponseException(reads[0].Replica, InternodeVerb.ReadBatch,
                    new InvalidDataException($"{results?.Length ?? 0} results for {reads.Length} reads")));
                return;
            }
            for (var i = 0; i < reads.Length; i++) reads[i].OnResponse(results[i]);
        }

        public void OnFailure(Exception error)
        {
            foreach (var read in reads) read.OnFailure(error);
        }
    }

    /// <summary>A replica's read failed in a way the consistency level absorbs (it counts as not answering).</summary>
    internal static bool IsReplicaFailure(Exception e) => e is InternodeException or OperationCanceledException or IOException;

    private async Task<ReadResponse?> ReadReplicaAsync(NodeAddress replica, byte[] storageKey, bool digestOnly, CancellationToken cancellationToken)
    {
        try
        {
            if (replica == _local)
            {
                var cell = await _localStore.ReadAsync(storageKey, cancellationToken).ConfigureAwait(false);
                return cell.ToResponse(digestOnly);
            }
            return await StartRead(replica, storageKey, digestOnly, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsReplicaFailure(e))
        {
            _logger.LogDebug("Read from {Replica} failed: {Reason}", replica, e.Message);
            return null;
        }
    }

    /// <summary>The natural replicas of the key (addresses), in preference-list order.</summary>
    /// <exception cref="RingUnknownException">This node does not know the ring yet.</exception>
    public NodeAddress[] ReplicasOf(ReadOnlySpan<byte> storageKey)
    {
        var placement = _placement();
        if (placement.Ring.TokenCount == 0) throw new RingUnknownException();
        var replicas = placement.ReplicasFor(BinaryPrimitives.ReadUInt64BigEndian(storageKey));
        var addresses = new NodeAddress[replicas.Length];
        for (var i = 0; i < replicas.Length; i++) addresses[i] = placement.Ring.Endpoint(replicas[i]);
        return addresses;
    }

    /// <summary>One page of a range scan from <paramref name="replica"/> (this node's store when it is the local one).</summary>
    public async ValueTask<RangeScanResponse> ScanReplicaAsync(NodeAddress replica, RangeScanRequest request, CancellationToken cancellationToken = default)
    {
        if (replica == _local) return await _localStore.ScanAsync(request.StartKey, request.EndKey, request.Limit, request.IncludeTombstones, cancellationToken).ConfigureAwait(false);
        return await _messaging.SendRangeScanAsync(replica, request, _options.ReadTimeout, cancellationToken).ConfigureAwait(false);
    }
}
