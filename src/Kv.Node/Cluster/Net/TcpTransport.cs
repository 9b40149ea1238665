using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Kv.Gossip.Transport;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Cluster.Net;

/// <summary>
/// The real <see cref="IMessageTransport"/>: TCP on the node's internode port, checksummed frames
/// (<see cref="InternodeFrame"/>) over System.IO.Pipelines.
/// </summary>
/// <remarks>
/// Connections are one-directional. To send to a peer this node opens its own outbound connection
/// (lazily, one per destination, see <see cref="OutboundPeer"/>) and starts it with an
/// <see cref="InternodeHello"/> naming its listen address; a peer's messages arrive on the inbound
/// connection the peer opened. So each (source, destination) link is one TCP stream, which keeps
/// per-link order, and `from` is always the sender's listen address.
///
/// Threading: every public member is thread-safe. <see cref="Send"/> never blocks (it copies the
/// message into the peer's bounded queue). Handlers are called on the inbound connection's read loop,
/// one message at a time per connection, and must not block. Handlers are set with
/// <see cref="Register"/> (volatile array slot); peers are created once per destination in a
/// ConcurrentDictionary. Nothing here throws to callers after <see cref="Start"/>: connection failures
/// are logged and retried, protocol violations are logged and close only the offending connection.
/// </remarks>
public sealed class TcpTransport : IMessageTransport
{
    private readonly TcpTransportOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Socket _listener;
    private readonly byte[] _hello;
    private readonly IMessageHandler?[] _handlers = new IMessageHandler?[256];
    private readonly ConcurrentDictionary<NodeAddress, OutboundPeer> _peers = new();
    private readonly ConcurrentDictionary<Socket, Task> _inbound = new();
    private readonly CancellationTokenSource _shutdown = new();
    private Task _acceptLoop = Task.CompletedTask;
    private int _disposed;

    private TcpTransport(TcpTransportOptions options, ILogger logger, TimeProvider time, Socket listener, NodeAddress local)
    {
        _options = options;
        _logger = logger;
        _time = time;
        _listener = listener;
        LocalAddress = local;
        _hello = new InternodeHello(local.Host, local.Port).ToArray();
    }

    /// <summary>Binds the listen port and starts accepting peers.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="SocketException">The port cannot be bound (in use, no permission).</exception>
    public static TcpTransport Start(TcpTransportOptions options, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!IPAddress.TryParse(options.ListenHost, out var listenIp))
            throw new ArgumentException($"internode listen host '{options.ListenHost}' is not an IP address");
        var advertised = options.AdvertisedHost ?? options.ListenHost;
        if (options.AdvertisedHost is null && (listenIp.Equals(IPAddress.Any) || listenIp.Equals(IPAddress.IPv6Any)))
            throw new ArgumentException($"internode listen host {options.ListenHost} is a wildcard: set the advertised host peers should connect to");

        var listener = new Socket(listenIp.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A restarted node must be able to rebind its port while old connections sit in TIME_WAIT.
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(listenIp, options.ListenPort));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var transport = new TcpTransport(options, logger ?? NullLogger.Instance, time ?? TimeProvider.System, listener, new NodeAddress(advertised, port));
        transport._acceptLoop = Task.Run(transport.AcceptLoopAsync);
        return transport;
    }

    public NodeAddress LocalAddress { get; }

    public void Register(MessageChannel channel, IMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Volatile.Write(ref _handlers[(byte)channel], handler);
    }

    public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message)
    {
        if (Volatile.Read(ref _disposed) != 0 || string.IsNullOrEmpty(destination.Host)) return false;
        if (message.Length + 1 > _options.MaxFrameLength)
        {
            _logger.LogWarning("Refused to send a {Size}-byte {Channel} message to {Peer}: it exceeds the internode max frame length of {Max} bytes",
                message.Length, channel, destination, _options.MaxFrameLength);
            return false;
        }
        if (!_peers.TryGetValue(destination, out var peer)) peer = AddPeer(destination);
        return peer.TryEnqueue((byte)channel, message);
    }

    /// <summary>Frames waiting for <paramref name="destination"/> (0 for an unknown peer).</summary>
    internal int QueuedMessages(NodeAddress destination) => _peers.TryGetValue(destination, out var p) ? p.QueuedCount : 0;

    internal long QueuedBytes(NodeAddress destination) => _peers.TryGetValue(destination, out var p) ? p.QueuedBytes : 0;

    internal int InboundConnectionCount => _inbound.Count;

    private OutboundPeer AddPeer(NodeAddress destination)
    {
        var created = new OutboundPeer(destination, _options, _hello, _logger, _time);
        var peer = _peers.GetOrAdd(destination, created);
        if (ReferenceEquals(peer, created))
        {
            peer.Start(_shutdown.Token);
            // Lost a race with DisposeAsync: it may not have seen this peer, so stop it here.
            if (Volatile.Read(ref _disposed) != 0) _ = peer.StopAsync();
        }
        return peer;
    }

    private async Task AcceptLoopAsync()
    {
        var shutdown = _shutdown.Token;
        while (!shutdown.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(shutdown).ConfigureAwait(false);
            }
            catch (Exception) when (shutdown.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                // E.g. out of file descriptors: keep listening, but do not spin on a persistent error.
                _logger.LogWarning("Accepting an internode connection failed: {Reason}", e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _time, shutdown).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            socket.NoDelay = true;
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var task = Task.Run(async () =>
            {
                await gate.Task.ConfigureAwait(false);
                await ReceiveLoopAsync(socket, shutdown).ConfigureAwait(false);
            }, CancellationToken.None);
            _inbound[socket] = task;
            gate.SetResult();
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken shutdown)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        NodeAddress? from = null;
        Resp.Net.EpollSocket? polled = null;
        if (_options.SocketLoop is { } loop)
        {
            try
            {
                polled = loop.Register(socket);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                _logger.LogDebug("Internode connection from {Remote} uses the runtime's sockets: {Reason}", remote, e.Message);
            }
        }
        // Frames are received into one buffer and delivered from it in place (handlers take a span and finish with it
        // before the next receive), as a RESP connection receives its requests.
        Resp.Net.IClientTransport transport = polled is not null ? polled : new Resp.Net.RuntimeSocketTransport(socket);
        var input = new Resp.Net.ReceiveBuffer(64 * 1024);
        try
        {
            from = await ReadHelloAsync(transport, input, remote, shutdown).ConfigureAwait(false);
            if (from is null) return;
            var peer = from.Value;
            while (true)
            {
                // Deliver first: frames may have come in the same receive as the hello.
                var buffer = input.Unparsed;
                try
                {
                    while (InternodeFrame.TryRead(ref buffer, _options.MaxFrameLength, out var channel, out var payload))
                        Deliver(peer, channel, payload);
                }
                finally
                {
                    input.ConsumeTo(buffer.Start);
                }
                // A large frame's buffer grows to its size, not to the next power of two past it.
                input.Expect(InternodeFrame.BytesNeeded(input.Unparsed, _options.MaxFrameLength));
                var received = await transport.ReceiveAsync(input.GetReceiveSpace(), shutdown).ConfigureAwait(false);
                if (received == 0)
                {
                    if (input.Length > 0)
                        _logger.LogInformation("Internode connection from {Peer} ({Remote}) closed in the middle of a frame; {Bytes} partial bytes discarded",
                            peer, remote, input.Length);
                    return;
                }
                input.Received(received);
            }
        }
        catch (InternodeProtocolException e)
        {
            _logger.LogWarning("Closing internode connection from {Peer} ({Remote}): {Reason}", from?.ToString() ?? "an unidentified peer", remote, e.Message);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug("Internode connection from {Peer} ({Remote}) ended: {Reason}", from?.ToString() ?? "an unidentified peer", remote, e.Message);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Internode receive loop for {Peer} ({Remote}) failed", from?.ToString() ?? "an unidentified peer", remote);
        }
        finally
        {
            transport.Close();
            input.Dispose();
            _inbound.TryRemove(socket, out _);
        }
    }

    private async Task<NodeAddress?> ReadHelloAsync(Resp.Net.IClientTransport transport, Resp.Net.ReceiveBuffer input, string remote, CancellationToken shutdown)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        timeout.CancelAfter(_options.HelloTimeout);
        try
        {
            while (true)
            {
                var received = await transport.ReceiveAsync(input.GetReceiveSpace(), timeout.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    _logger.LogDebug("Internode connection from {Remote} closed before its hello", remote);
                    return null;
                }
                input.Received(received);
                var buffer = input.Unparsed;
                if (!InternodeHello.TryRead(ref buffer, out var hello)) continue;
                input.ConsumeTo(buffer.Start); // frames may follow in the same receive
                return new NodeAddress(hello.Host, hello.Port);
            }
        }
        catch (OperationCanceledException) when (!shutdown.IsCancellationRequested)
        {
            _logger.LogWarning("Closing internode connection from {Remote}: no hello within {Seconds} s", remote, _options.HelloTimeout.TotalSeconds);
            return null;
        }
    }

    private void Deliver(NodeAddress from, byte channel, in ReadOnlySequence<byte> payload)
    {
        var handler = Volatile.Read(ref _handlers[channel]);
        if (handler is null)
        {
            _logger.LogDebug("Dropped a message from {Peer} on channel {Channel}: no handler registered", from, channel);
            return;
        }
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> span;
            if (payload.IsSingleSegment)
            {
                span = payload.FirstSpan;
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent((int)payload.Length);
                payload.CopyTo(rented);
                span = rented.AsSpan(0, (int)payload.Length);
            }
            handler.OnMessage(from, span);
        }
        catch (Exception e)
        {
            // A handler bug must not take the link down with it.
            _logger.LogError(e, "Handler for channel {Channel} failed on a message from {Peer}", (MessageChannel)channel, from);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _shutdown.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        var stops = new List<Task> { _acceptLoop };
        foreach (var peer in _peers.Values) stops.Add(peer.StopAsync());
        foreach (var (socket, task) in _inbound)
        {
            socket.Dispose();
            stops.Add(task);
        }
        try
        {
            await Task.WhenAll(stops).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogDebug("Internode transport stopped with: {Reason}", e.Message);
        }
    }
}
