using System.Collections.Concurrent;
using Kv.Gossip.Membership;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Messaging;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Cluster.Hints;

/// <summary>
/// Hinted handoff: decides whether a missed write is hinted (the replica has been down less than the
/// hint window), stores it in the <see cref="HintStore"/>, and replays a replica's hints in order,
/// throttled, when gossip reports it up (and on a periodic check, in case an event was missed).
/// </summary>
/// <remarks>
/// Threading: thread-safe. Gossip events arrive on gossip threads and only start replays. At most one
/// replay per target runs at a time (a ConcurrentDictionary of running tasks); the down-since times are
/// a ConcurrentDictionary. Replay awaits each hint's acknowledgement before sending the next, so hints
/// arrive in the order they were stored; a failure stops the replay and the remaining hints stay stored.
/// </remarks>
public sealed class HintedHandoff : IEndpointStateListener, IAsyncDisposable
{
    private readonly HintStore _store;
    private readonly MessagingService _messaging;
    private readonly IEndpointLiveness _liveness;
    private readonly HintedHandoffOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<NodeAddress, long> _downSinceMs = new();
    private readonly ConcurrentDictionary<NodeAddress, Task> _replays = new();
    private readonly CancellationTokenSource _shutdown = new();
    private ITimer? _timer;
    private long _delivered;
    private long _stored;

    public HintedHandoff(HintStore store, MessagingService messaging, IEndpointLiveness liveness, HintedHandoffOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        _store = store;
        _messaging = messaging;
        _liveness = liveness;
        _options = options ?? new HintedHandoffOptions();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    public HintStore Store => _store;

    public long HintsDelivered => Interlocked.Read(ref _delivered);

    public long HintsStored => Interlocked.Read(ref _stored);

    /// <summary>Starts the periodic check that replays hints to targets that are alive.</summary>
    public void Start() => _timer = _time.CreateTimer(static s => ((HintedHandoff)s!).ReplayAllAlive(), this, _options.CheckInterval, _options.CheckInterval);

    /// <summary>Stores a hint for <paramref name="target"/> unless it has been down longer than the hint window. True when stored.</summary>
    public bool TryHint(NodeAddress target, in MutationRequest mutation)
    {
        if (_downSinceMs.TryGetValue(target, out var since) && _time.GetUtcNow().ToUnixTimeMilliseconds() - since > (long)_options.HintWindow.TotalMilliseconds)
            return false;
        try
        {
            _store.Store(target, mutation);
        }
        catch (IOException e)
        {
            _logger.LogError(e, "Could not store a hint for {Target} in {Directory}", target, _store.DirectoryPath);
            return false;
        }
        Interlocked.Increment(ref _stored);
        return true;
    }

    /// <summary>
    /// Serves sloppy-quorum writes (<see cref="InternodeVerb.HintedMutation"/>): this node, a fallback, keeps the
    /// write as a hint for the replica that is down, delivered like its own hints when that replica is back.
    /// </summary>
    public void ServeFallbackWrites() =>
        _messaging.ServeHintedMutations((from, request, _) => ValueTask.FromResult(
            TryHint(new NodeAddress(request.TargetHost, request.TargetPort), request.Mutation)
                ? MutationResponse.Applied
                : MutationResponse.Failed($"no hint stored for {request.TargetHost}:{request.TargetPort} (down longer than the hint window, or the hint directory failed)")));

    /// <summary>Starts a replay for every target with hints that is alive.</summary>
    public void ReplayAllAlive()
    {
        foreach (var target in _store.Targets())
            if (_liveness.IsAlive(target)) _ = ReplayAsync(target);
    }

    /// <summary>Replays <paramref name="target"/>'s hints (or joins a replay already running); completes when it ends (all delivered, or stopped by a failure).</summary>
    public Task ReplayAsync(NodeAddress target)
    {
        while (true)
        {
            if (_replays.TryGetValue(target, out var running)) return running;
            var tcs = new TaskCompletionSource(_options.RunContinuationsAsynchronously ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
            if (!_replays.TryAdd(target, tcs.Task)) continue;
            _ = RunReplayAsync(target, tcs);
            return tcs.Task;
        }
    }

    private async Task RunReplayAsync(NodeAddress target, TaskCompletionSource done)
    {
        try
        {
            if (_options.RunContinuationsAsynchronously) await Task.Yield();
            var hints = _store.ReadAll(target);
            long deliveredBytes = 0, removedBytes = 0;
            var perSecond = Math.Max(1, _options.ReplayHintsPerSecond);
            var batch = Math.Max(1, perSecond / 10);
            var sent = 0;
            foreach (var hint in hints)
            {
                if (_shutdown.IsCancellationRequested) break;
                MutationResponse response;
                try
                {
                    response = await _messaging.SendHintAsync(target, hint.Mutation, _options.ReplayTimeout, _shutdown.Token).ConfigureAwait(false);
                    // Messaging may resume this on its receive loop; the hint file work below belongs on the pool.
                    if (_options.RunContinuationsAsynchronously) await Task.Yield();
                }
                catch (Exception e) when (e is InternodeException or OperationCanceledException)
                {
                    _logger.LogInformation("Hint replay to {Target} stopped after {Count} hints: {Reason}", target, sent, e.Message);
                    break;
                }
                if (!response.Ok)
                {
                    _logger.LogWarning("Hint replay to {Target} stopped: the replica refused a hint: {Error}", target, response.Error);
                    break;
                }
                deliveredBytes = hint.EndOffset;
                Interlocked.Increment(ref _delivered);
                if (++sent % batch == 0)
                {
                    // Offsets are into the file as read; what was removed already is gone from its front.
                    _store.RemoveDelivered(target, deliveredBytes - removedBytes);
                    removedBytes = deliveredBytes;
                    await Task.Delay(TimeSpan.FromSeconds((double)batch / perSecond), _time, _shutdown.Token).ConfigureAwait(false);
                }
            }
            _store.RemoveDelivered(target, deliveredBytes - removedBytes);
            if (sent > 0) _logger.LogInformation("Delivered {Count} hints to {Target}", sent, target);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Hint replay to {Target} failed", target);
        }
        finally
        {
            _replays.TryRemove(target, out _);
            done.TrySetResult();
        }
    }

    void IEndpointStateListener.OnAlive(NodeAddress endpoint, EndpointState state)
    {
        _downSinceMs.TryRemove(endpoint, out _);
        _ = ReplayAsync(endpoint);
    }

    void IEndpointStateListener.OnDead(NodeAddress endpoint, EndpointState state) =>
        _downSinceMs.TryAdd(endpoint, _time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>Records that <paramref name="endpoint"/> went down now (what the failure detector's event does).</summary>
    public void MarkDown(NodeAddress endpoint) => _downSinceMs.TryAdd(endpoint, _time.GetUtcNow().ToUnixTimeMilliseconds());

    public async ValueTask DisposeAsync()
    {
        if (_timer is not null) await _timer.DisposeAsync().ConfigureAwait(false);
        await _shutdown.CancelAsync().ConfigureAwait(false);
        foreach (var replay in _replays.Values)
        {
            try
            {
                await replay.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
