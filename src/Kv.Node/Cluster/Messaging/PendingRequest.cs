using System.Buffers;
using System.Threading.Tasks.Sources;
using Kv.Gossip.Transport;
using Kv.Protocol.Internode;
using MessagePack;

namespace Kv.Node.Cluster.Messaging;

/// <summary>
/// A request sent and not yet answered. Exactly one of response, timeout, cancellation or shutdown
/// finishes it: whoever removes it from the service's pending table first (TryRemove) owns the
/// completion, so the others are no-ops.
/// </summary>
internal abstract class PendingRequest(MessagingService owner, NodeAddress peer, InternodeVerb verb, ulong id, TimeSpan timeout)
{
    public NodeAddress Peer { get; } = peer;
    public InternodeVerb Verb { get; } = verb;
    public ulong Id { get; } = id;
    public TimeSpan Timeout { get; } = timeout;
    protected MessagingService Owner { get; } = owner;
    public ITimer? Timer { get; set; }
    public CancellationTokenRegistration Cancellation { get; set; }

    /// <summary>Called by the owner that removed this request: decode <paramref name="body"/> and finish.</summary>
    public abstract void Complete(InternodeHeader header, ReadOnlySpan<byte> body);

    public abstract void Fail(Exception error);

    public static void OnTimeout(object? state)
    {
        var request = (PendingRequest)state!;
        if (request.Owner.TryTake(request.Id, out _)) request.Fail(new RequestTimeoutException(request.Peer, request.Verb, request.Timeout));
    }

    public static void OnCancelled(object? state)
    {
        var request = (PendingRequest)state!;
        if (request.Owner.TryTake(request.Id, out _)) request.Fail(new OperationCanceledException($"{request.Verb} request to {request.Peer} was cancelled"));
    }

    protected void Release()
    {
        Timer?.Dispose();
        Cancellation.Dispose();
    }
}

/// <summary>
/// A request awaiting a <typeparamref name="TResponse"/>; it is itself the source of the <see cref="ValueTask{TResult}"/>
/// its sender awaits (no TaskCompletionSource and Task beside it). Never reused, so the token is always 0 and a
/// completion can never reach a later request.
/// </summary>
internal sealed class PendingRequest<TResponse> : PendingRequest, IValueTaskSource<TResponse>
{
    private readonly IResponseCallback<TResponse>? _callback;
    private ManualResetValueTaskSourceCore<TResponse> _completion;

    public PendingRequest(MessagingService owner, NodeAddress peer, InternodeVerb verb, ulong id, TimeSpan timeout, bool runContinuationsAsynchronously = true,
        IResponseCallback<TResponse>? callback = null)
        : base(owner, peer, verb, id, timeout)
    {
        _completion.RunContinuationsAsynchronously = runContinuationsAsynchronously;
        _callback = callback;
    }

    /// <summary>What the sender awaits: once only, like any ValueTask.</summary>
    public ValueTask<TResponse> Task => new(this, 0);

    public override void Complete(InternodeHeader header, ReadOnlySpan<byte> body)
    {
        Release();
        // MessagePack reads from memory, and the span lives only during this call: decode from a
        // pooled copy. Byte fields of the result are copied out by the formatter, not sliced.
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, body.Length));
        Exception? error = null;
        TResponse? result = default;
        try
        {
            body.CopyTo(copy);
            var memory = copy.AsMemory(0, body.Length);
            if (header.IsError)
            {
                var remote = InternodeEnvelope.ReadBody<ErrorResponse>(memory);
                error = new RemoteErrorException(Peer, Verb, remote.Code, remote.Message);
            }
            else
            {
                result = InternodeEnvelope.ReadBody<TResponse>(memory);
            }
        }
        catch (MessagePackSerializationException e)
        {
            error = new MalformedResponseException(Peer, Verb, e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
        // Completed after the copy went back to the pool: a continuation that runs inline must not find it rented.
        if (error is null) Succeed(result!);
        else Finish(error);
    }

    public override void Fail(Exception error)
    {
        Release();
        Finish(error);
    }

    private void Succeed(TResponse result)
    {
        if (_callback is null) _completion.SetResult(result);
        else _callback.OnResponse(result);
    }

    private void Finish(Exception error)
    {
        if (_callback is null) _completion.SetException(error);
        else _callback.OnFailure(error);
    }

    TResponse IValueTaskSource<TResponse>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<TResponse>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<TResponse>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// Receives the outcome of a request sent with <see cref="MessagingService.SendRequest{TRequest, TResponse}"/>:
/// exactly one of the two methods is called, once, on the thread that completed the request (the transport's receive
/// thread for a response, a timer's for a timeout). Implementations must return quickly and never block.
/// </summary>
internal interface IResponseCallback<in TResponse>
{
    void OnResponse(TResponse response);

    void OnFailure(Exception error);
}
