using System.Buffers;
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

internal sealed class PendingRequest<TResponse>(MessagingService owner, NodeAddress peer, InternodeVerb verb, ulong id, TimeSpan timeout, bool runContinuationsAsynchronously = true)
    : PendingRequest(owner, peer, verb, id, timeout)
{
    private readonly TaskCompletionSource<TResponse> _completion =
        new(runContinuationsAsynchronously ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);

    public Task<TResponse> Task => _completion.Task;

    public override void Complete(InternodeHeader header, ReadOnlySpan<byte> body)
    {
        Release();
        // MessagePack reads from memory, and the span lives only during this call: decode from a
        // pooled copy. Byte fields of the result are copied out by the formatter, not sliced.
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, body.Length));
        try
        {
            body.CopyTo(copy);
            var memory = copy.AsMemory(0, body.Length);
            if (header.IsError)
            {
                var error = InternodeEnvelope.ReadBody<ErrorResponse>(memory);
                _completion.TrySetException(new RemoteErrorException(Peer, Verb, error.Code, error.Message));
            }
            else
            {
                _completion.TrySetResult(InternodeEnvelope.ReadBody<TResponse>(memory));
            }
        }
        catch (MessagePackSerializationException e)
        {
            _completion.TrySetException(new MalformedResponseException(Peer, Verb, e));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public override void Fail(Exception error)
    {
        Release();
        _completion.TrySetException(error);
    }
}
