using System.Buffers;
using Kv.Gossip.Transport;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Messaging;

/// <summary>
/// The server side of one verb: decodes the request body into its contract, runs the registered
/// function, and (unless the request is one-way) sends its result or its failure back.
/// </summary>
internal abstract class VerbHandler
{
    /// <summary>Runs on the transport's receive thread; the span is valid only during the call.</summary>
    public abstract void Handle(MessagingService service, NodeAddress from, InternodeHeader header, ReadOnlySpan<byte> body);

    protected static TRequest Decode<TRequest>(ReadOnlySpan<byte> body)
    {
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, body.Length));
        try
        {
            body.CopyTo(copy);
            return InternodeEnvelope.ReadBody<TRequest>(copy.AsMemory(0, body.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }
}

internal sealed class RequestHandler<TRequest, TResponse>(Func<NodeAddress, TRequest, CancellationToken, ValueTask<TResponse>> handler) : VerbHandler
{
    public override void Handle(MessagingService service, NodeAddress from, InternodeHeader header, ReadOnlySpan<byte> body)
    {
        TRequest request;
        try
        {
            request = Decode<TRequest>(body);
        }
        catch (Exception e)
        {
            service.ReplyError(from, header, InternodeErrorCode.MalformedRequest, $"the {header.Verb} body did not decode: {e.Message}");
            return;
        }

        ValueTask<TResponse> pending;
        try
        {
            pending = handler(from, request, service.ShutdownToken);
        }
        catch (Exception e)
        {
            service.ReplyFailure(from, header, e);
            return;
        }
        if (pending.IsCompletedSuccessfully) service.Reply(from, header, pending.Result);
        else _ = AwaitAndReplyAsync(service, from, header, pending);
    }

    private static async Task AwaitAndReplyAsync(MessagingService service, NodeAddress from, InternodeHeader header, ValueTask<TResponse> pending)
    {
        TResponse response;
        try
        {
            response = await pending.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            service.ReplyFailure(from, header, e);
            return;
        }
        service.Reply(from, header, response);
    }
}

internal sealed class OneWayHandler<TMessage>(Func<NodeAddress, TMessage, CancellationToken, ValueTask> handler) : VerbHandler
{
    public override void Handle(MessagingService service, NodeAddress from, InternodeHeader header, ReadOnlySpan<byte> body)
    {
        TMessage message;
        try
        {
            message = Decode<TMessage>(body);
        }
        catch (Exception e)
        {
            service.ReplyError(from, header, InternodeErrorCode.MalformedRequest, $"the {header.Verb} body did not decode: {e.Message}");
            return;
        }
        try
        {
            var pending = handler(from, message, service.ShutdownToken);
            if (pending.IsCompletedSuccessfully) service.ReplyOneWayDone(from, header);
            else _ = AwaitAsync(service, from, header, pending);
        }
        catch (Exception e)
        {
            service.ReplyFailure(from, header, e);
        }
    }

    private static async Task AwaitAsync(MessagingService service, NodeAddress from, InternodeHeader header, ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
            service.ReplyOneWayDone(from, header);
        }
        catch (Exception e)
        {
            service.ReplyFailure(from, header, e);
        }
    }
}
