using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Kv.Gossip.Transport;
using Kv.Protocol.Buffers;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Cluster.Messaging;

/// <summary>
/// Request/response and one-way messages between nodes, over any <see cref="IMessageTransport"/>
/// (TCP in a real node, the simulated network in tests), on <see cref="MessageChannel.Internode"/>.
/// Each message is an <see cref="InternodeEnvelope"/>; responses are matched to requests by id, so
/// any number of requests can be in flight to the same peer.
/// </summary>
/// <remarks>
/// Threading: every public member is thread-safe.
/// - Register/RegisterOneWay: normally at startup, before traffic; a verb's slot is a volatile array
///   element, so registering later is safe but messages that arrived earlier got UnknownVerb.
/// - SendRequestAsync/SendOneWay: any thread; never block. The pending table (ConcurrentDictionary
///   keyed by request id) is the only shared state per request: whichever of response, timer,
///   cancellation or shutdown removes the entry first completes it, exactly once.
/// - Per-peer outstanding counts are Interlocked counters in a ConcurrentDictionary.
/// - Handlers run on the transport's receive thread up to their first await: they must not block
///   (do I/O asynchronously). Their results are sent from whatever thread completes them.
/// - Timeouts run on <see cref="TimeProvider"/> timers, so a virtual clock drives them in the simulator.
/// </remarks>
public sealed class MessagingService : IMessageHandler, IAsyncDisposable
{
    private const int MaxCachedWriterBytes = 1024 * 1024;

    [ThreadStatic]
    private static PooledBufferWriter? t_writer;

    private readonly IMessageTransport _transport;
    private readonly MessagingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly VerbHandler?[] _handlers = new VerbHandler?[256];
    private readonly ConcurrentDictionary<ulong, PendingRequest> _pending = new();
    private readonly ConcurrentDictionary<NodeAddress, StrongBox<int>> _outstanding = new();
    private readonly CancellationTokenSource _shutdown = new();
    private long _nextRequestId;
    private int _disposed;

    public MessagingService(IMessageTransport transport, MessagingOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        _options = options ?? new MessagingOptions();
        if (_options.MaxOutstandingRequestsPerPeer < 1) throw new ArgumentException("MaxOutstandingRequestsPerPeer must be at least 1");
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        // Request ids must not repeat across restarts: a peer that was slow or paused answers requests of this node's
        // previous process after the new one started, and a repeated id would take that stale answer for its own.
        // Starting at the wall clock in milliseconds times 2^20 leaves a million ids per millisecond of uptime.
        _nextRequestId = _time.GetUtcNow().ToUnixTimeMilliseconds() << 20;
        transport.Register(MessageChannel.Internode, this);
    }

    public NodeAddress LocalAddress => _transport.LocalAddress;

    /// <summary>Cancelled when the service is disposed; passed to handlers.</summary>
    internal CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>Requests to <paramref name="peer"/> awaiting a response.</summary>
    public int OutstandingRequests(NodeAddress peer) => _outstanding.TryGetValue(peer, out var count) ? Volatile.Read(ref count.Value) : 0;

    /// <summary>Serves <paramref name="verb"/>: decode <typeparamref name="TRequest"/>, run <paramref name="handler"/>, answer with its result (or its exception's message as an error).</summary>
    public void Register<TRequest, TResponse>(InternodeVerb verb, Func<NodeAddress, TRequest, CancellationToken, ValueTask<TResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Volatile.Write(ref _handlers[(byte)verb], new RequestHandler<TRequest, TResponse>(handler));
    }

    /// <summary>Serves a one-way <paramref name="verb"/>: no response is sent (errors are only logged).</summary>
    public void RegisterOneWay<TMessage>(InternodeVerb verb, Func<NodeAddress, TMessage, CancellationToken, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Volatile.Write(ref _handlers[(byte)verb], new OneWayHandler<TMessage>(handler));
    }

    /// <summary>
    /// Sends <paramref name="request"/> to <paramref name="to"/> and waits for its response.
    /// </summary>
    /// <exception cref="PeerUnavailableException">Not sent: the transport refused it, or too many requests to the peer are outstanding.</exception>
    /// <exception cref="RequestTimeoutException">No response within <paramref name="timeout"/>.</exception>
    /// <exception cref="RemoteErrorException">The peer answered with an error.</exception>
    /// <exception cref="MalformedResponseException">The response did not decode as <typeparamref name="TResponse"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public ValueTask<TResponse> SendRequestAsync<TRequest, TResponse>(NodeAddress to, InternodeVerb verb, TRequest request, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive");
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<TResponse>(cancellationToken);
        if (TryRefuse(to) is { } refusal) return ValueTask.FromException<TResponse>(refusal);
        var pending = new PendingRequest<TResponse>(this, to, verb, NextId(), timeout, _options.RunContinuationsAsynchronously);
        Start(pending, request, cancellationToken);
        return pending.Task;
    }

    /// <summary>
    /// As <see cref="SendRequestAsync{TRequest, TResponse}"/>, but the outcome goes to <paramref name="callback"/> (see
    /// <see cref="IResponseCallback{TResponse}"/>), which may be called before this returns. For the hottest senders:
    /// no task, no state machine and no continuation per request.
    /// </summary>
    internal void SendRequest<TRequest, TResponse>(NodeAddress to, InternodeVerb verb, TRequest request, TimeSpan timeout, IResponseCallback<TResponse> callback, CancellationToken cancellationToken = default)
    {
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the timeout must be positive");
        if (cancellationToken.IsCancellationRequested)
        {
            callback.OnFailure(new OperationCanceledException(cancellationToken));
            return;
        }
        if (TryRefuse(to) is { } refusal)
        {
            callback.OnFailure(refusal);
            return;
        }
        Start(new PendingRequest<TResponse>(this, to, verb, NextId(), timeout, _options.RunContinuationsAsynchronously, callback), request, cancellationToken);
    }

    /// <summary>Why a request to <paramref name="to"/> cannot be sent now, or null after taking one of its outstanding slots.</summary>
    private PeerUnavailableException? TryRefuse(NodeAddress to)
    {
        if (Volatile.Read(ref _disposed) != 0) return new PeerUnavailableException(to, "internode messaging is shut down");
        var count = _outstanding.GetOrAdd(to, static _ => new StrongBox<int>());
        if (Interlocked.Increment(ref count.Value) <= _options.MaxOutstandingRequestsPerPeer) return null;
        Interlocked.Decrement(ref count.Value);
        return new PeerUnavailableException(to,
            $"{_options.MaxOutstandingRequestsPerPeer} requests are already awaiting its answers (it is slow or down; retry later or raise MaxOutstandingRequestsPerPeer)");
    }

    private ulong NextId() => (ulong)Interlocked.Increment(ref _nextRequestId);

    /// <summary>Registers <paramref name="pending"/> (its slot is already taken), arms its timeout and sends it.</summary>
    private void Start<TRequest>(PendingRequest pending, TRequest request, CancellationToken cancellationToken)
    {
        var id = pending.Id;
        _pending[id] = pending;
        // Both are set before the send, so the response can never find them missing.
        pending.Timer = _time.CreateTimer(PendingRequest.OnTimeout, pending, pending.Timeout, Timeout.InfiniteTimeSpan);
        if (cancellationToken.CanBeCanceled) pending.Cancellation = cancellationToken.UnsafeRegister(PendingRequest.OnCancelled, pending);

        bool sent;
        try
        {
            sent = Send(pending.Peer, InternodeHeader.Request(pending.Verb, id), request);
        }
        catch (Exception e)
        {
            if (TryTake(id, out _)) pending.Fail(e);
            return;
        }
        if (!sent && TryTake(id, out _))
            pending.Fail(new PeerUnavailableException(pending.Peer, "its send queue is full or the transport is closed (the peer is down or slower than we send)"));
    }

    /// <summary>Sends <paramref name="message"/> without waiting for (or getting) a response. False when the transport refused it.</summary>
    public bool SendOneWay<TMessage>(NodeAddress to, InternodeVerb verb, TMessage message)
    {
        if (Volatile.Read(ref _disposed) != 0) return false;
        var id = (ulong)Interlocked.Increment(ref _nextRequestId);
        return Send(to, InternodeHeader.Request(verb, id, oneWay: true), message);
    }

    /// <summary>Removes a pending request; the caller that gets it owns its completion.</summary>
    internal bool TryTake(ulong id, out PendingRequest? request)
    {
        if (!_pending.TryRemove(id, out request)) return false;
        if (_outstanding.TryGetValue(request.Peer, out var count)) Interlocked.Decrement(ref count.Value);
        return true;
    }

    void IMessageHandler.OnMessage(NodeAddress from, ReadOnlySpan<byte> message)
    {
        if (!InternodeEnvelope.TryReadHeader(message, out var header))
        {
            _logger.LogWarning("Dropped an internode message of {Length} bytes from {Peer}: shorter than an envelope header", message.Length, from);
            return;
        }
        var body = message[InternodeEnvelope.HeaderSize..];
        if (header.IsResponse)
        {
            // Request ids are unique per sender, across its restarts too, so the id alone identifies the request.
            if (TryTake(header.RequestId, out var pending))
            {
                if (header.Version != InternodeEnvelope.CurrentVersion)
                    pending!.Fail(new MalformedResponseException(from, header.Verb, new InvalidDataException($"response envelope version {header.Version}; this node speaks {InternodeEnvelope.CurrentVersion}")));
                else
                    pending!.Complete(header, body);
            }
            else
            {
                _logger.LogDebug("Dropped a {Verb} response from {Peer}: request {Id} already timed out or was cancelled", header.Verb, from, header.RequestId);
            }
            return;
        }

        if (header.Version != InternodeEnvelope.CurrentVersion)
        {
            ReplyError(from, header, InternodeErrorCode.UnsupportedVersion,
                $"envelope version {header.Version} is not supported; this node speaks version {InternodeEnvelope.CurrentVersion}");
            return;
        }
        if (Volatile.Read(ref _disposed) != 0)
        {
            ReplyError(from, header, InternodeErrorCode.ShuttingDown, "the node is shutting down");
            return;
        }
        var handler = Volatile.Read(ref _handlers[(byte)header.Verb]);
        if (handler is null)
        {
            ReplyError(from, header, InternodeErrorCode.UnknownVerb, $"verb {(byte)header.Verb} ({header.Verb}) is not served by this node");
            return;
        }
        handler.Handle(this, from, header, body);
    }

    internal void Reply<TResponse>(NodeAddress to, InternodeHeader request, TResponse response)
    {
        if (request.IsOneWay) return;
        try
        {
            if (!Send(to, request.ToResponse(), response))
                _logger.LogDebug("Could not queue the {Verb} response to {Peer}; it will time out there", request.Verb, to);
        }
        catch (Exception e)
        {
            ReplyFailure(to, request, e);
        }
    }

    internal void ReplyOneWayDone(NodeAddress to, InternodeHeader request)
    {
        if (!request.IsOneWay)
            ReplyError(to, request, InternodeErrorCode.UnknownVerb, $"verb {request.Verb} is one-way here; it has no response");
    }

    internal void ReplyFailure(NodeAddress to, InternodeHeader request, Exception error)
    {
        if (request.IsOneWay)
        {
            _logger.LogWarning(error, "One-way {Verb} message from {Peer} failed", request.Verb, to);
            return;
        }
        var code = error is OperationCanceledException && _shutdown.IsCancellationRequested ? InternodeErrorCode.ShuttingDown : InternodeErrorCode.HandlerFailed;
        ReplyError(to, request, code, error.Message);
    }

    internal void ReplyError(NodeAddress to, InternodeHeader request, InternodeErrorCode code, string message)
    {
        if (request.IsOneWay)
        {
            _logger.LogWarning("One-way {Verb} message from {Peer} was not handled: {Message}", request.Verb, to, message);
            return;
        }
        var header = new InternodeHeader(InternodeEnvelope.CurrentVersion, request.Verb, InternodeFlags.Response | InternodeFlags.Error, request.RequestId);
        if (!Send(to, header, new ErrorResponse(code, message)))
            _logger.LogDebug("Could not queue the {Verb} error response to {Peer}", request.Verb, to);
    }

    private bool Send<TBody>(NodeAddress to, InternodeHeader header, TBody body)
    {
        // A thread-local writer, taken out while in use: a transport that delivers synchronously may
        // re-enter here from a handler, and that call then gets a fresh writer.
        var writer = t_writer ?? new PooledBufferWriter();
        t_writer = null;
        try
        {
            InternodeEnvelope.Write(writer, header, body);
            return _transport.Send(to, MessageChannel.Internode, writer.WrittenSpan);
        }
        finally
        {
            if (writer.WrittenCount <= MaxCachedWriterBytes)
            {
                writer.Reset();
                t_writer = writer;
            }
            else
            {
                writer.Dispose();
            }
        }
    }

    /// <summary>Fails every pending request and refuses new ones. The transport is not disposed: others share it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _shutdown.CancelAsync().ConfigureAwait(false);
        foreach (var id in _pending.Keys)
        {
            if (TryTake(id, out var pending)) pending!.Fail(new PeerUnavailableException(pending.Peer, "internode messaging shut down before the response arrived"));
        }
    }
}
