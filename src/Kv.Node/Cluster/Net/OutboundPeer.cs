using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Kv.Gossip.Transport;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Cluster.Net;

/// <summary>
/// Everything this node sends to one peer: a bounded queue of encoded frames and the loop that owns
/// the single outbound connection (connect lazily when something is queued, hello, batch frames into
/// one flush, reconnect with backoff after a failure).
/// </summary>
/// <remarks>
/// Threading: <see cref="TryEnqueue"/> is called from any thread and never blocks. The run loop is the
/// only reader of the queue and the only user of the socket. The two counters bound the queue
/// (they are updated with Interlocked and may transiently over-count, which only refuses earlier).
/// Frames already handed to the socket when a connection breaks are lost (the transport is best
/// effort); frames still queued survive the reconnect.
/// </remarks>
internal sealed class OutboundPeer
{
    private readonly NodeAddress _destination;
    private readonly TcpTransportOptions _options;
    private readonly byte[] _hello;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<OutboundFrame> _queue = Channel.CreateUnbounded<OutboundFrame>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });
    private int _queuedCount;
    private long _queuedBytes;
    private Task _run = Task.CompletedTask;

    public OutboundPeer(NodeAddress destination, TcpTransportOptions options, byte[] hello, ILogger logger, TimeProvider time)
    {
        _destination = destination;
        _options = options;
        _hello = hello;
        _logger = logger;
        _time = time;
    }

    public int QueuedCount => Volatile.Read(ref _queuedCount);
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Consecutive failed connection attempts (0 when connected or never tried).</summary>
    public int FailedAttempts { get; private set; }

    public void Start(CancellationToken shutdown) => _run = Task.Run(() => RunAsync(shutdown));

    /// <summary>Stops accepting frames; the run loop ends once <paramref name="shutdown"/> is cancelled.</summary>
    public Task StopAsync()
    {
        _queue.Writer.TryComplete();
        return _run;
    }

    public bool TryEnqueue(byte channel, ReadOnlySpan<byte> payload)
    {
        var size = InternodeFrame.EncodedSize(payload.Length);
        if (Interlocked.Increment(ref _queuedCount) > _options.MaxQueuedMessagesPerPeer)
        {
            Interlocked.Decrement(ref _queuedCount);
            return false;
        }
        if (Interlocked.Add(ref _queuedBytes, size) > _options.MaxQueuedBytesPerPeer)
        {
            Release(size);
            return false;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        InternodeFrame.Write(buffer, channel, payload);
        if (_queue.Writer.TryWrite(new OutboundFrame(buffer, size))) return true;
        ArrayPool<byte>.Shared.Return(buffer);
        Release(size);
        return false;
    }

    private void Release(int size)
    {
        Interlocked.Add(ref _queuedBytes, -size);
        Interlocked.Decrement(ref _queuedCount);
    }

    private async Task RunAsync(CancellationToken shutdown)
    {
        var random = new Random();
        try
        {
            while (!shutdown.IsCancellationRequested)
            {
                // Connect only when there is something to send: a dead peer nobody talks to costs nothing.
                if (!await _queue.Reader.WaitToReadAsync(shutdown).ConfigureAwait(false)) return;

                var started = _time.GetTimestamp();
                string? failure = null;
                try
                {
                    using var socket = await ConnectAsync(shutdown).ConfigureAwait(false);
                    if (FailedAttempts > 0) _logger.LogInformation("Internode connection to {Peer} re-established after {Attempts} failed attempts", _destination, FailedAttempts);
                    failure = await RunConnectionAsync(socket, shutdown).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
                {
                    return;
                }
                catch (OperationCanceledException)
                {
                    failure = $"connect timed out after {_options.ConnectTimeout.TotalSeconds:0.#} s";
                }
                catch (Exception e)
                {
                    // Socket and DNS errors, but also anything unexpected: keep the loop alive, log, back off.
                    failure = e.Message;
                }
                if (failure is null) return; // queue completed: the transport is closing

                if (_time.GetElapsedTime(started) >= _options.ReconnectBackoffReset) FailedAttempts = 0;
                var delay = ReconnectBackoff.Delay(FailedAttempts, _options.ReconnectBackoffInitial, _options.ReconnectBackoffMax, random);
                FailedAttempts++;
                if (FailedAttempts == 1)
                    _logger.LogWarning("Internode connection to {Peer} failed: {Reason}. Retrying with backoff; {Queued} messages stay queued", _destination, failure, QueuedCount);
                else
                    _logger.LogDebug("Internode connection to {Peer} failed again (attempt {Attempt}): {Reason}. Next try in {Delay} ms", _destination, FailedAttempts, failure, (int)delay.TotalMilliseconds);
                await Task.Delay(delay, _time, shutdown).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Internode sender for {Peer} stopped unexpectedly", _destination);
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var frame))
            {
                Release(frame.Length);
                frame.Return();
            }
        }
    }

    private async Task<Socket> ConnectAsync(CancellationToken shutdown)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        timeout.CancelAfter(_options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            EndPoint endPoint = IPAddress.TryParse(_destination.Host, out var ip)
                ? new IPEndPoint(ip, _destination.Port)
                : new DnsEndPoint(_destination.Host, _destination.Port);
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends hello then queued frames until the connection breaks (returns why) or the queue completes (returns null).</summary>
    private async Task<string?> RunConnectionAsync(Socket socket, CancellationToken shutdown)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        var closeReason = new StrongBox<string?>(null);
        var watcher = WatchForCloseAsync(socket, connection, closeReason);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
        try
        {
            writer.Write(_hello);
            await writer.FlushAsync(connection.Token).ConfigureAwait(false);
            while (await _queue.Reader.WaitToReadAsync(connection.Token).ConfigureAwait(false))
            {
                var batched = 0;
                while (batched < _options.MaxBatchBytes && _queue.Reader.TryRead(out var frame))
                {
                    writer.Write(frame.Span);
                    batched += frame.Length;
                    Release(frame.Length);
                    frame.Return();
                }
                var flushed = await writer.FlushAsync(connection.Token).ConfigureAwait(false);
                if (flushed.IsCompleted) return "the connection was closed";
            }
            return null;
        }
        catch (OperationCanceledException) when (!shutdown.IsCancellationRequested)
        {
            return closeReason.Value ?? "the connection was closed";
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return e.Message;
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
            try
            {
                await writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Completing flushes what is left; on a dead socket that fails, and the frames are lost anyway.
            }
        }
    }

    /// <summary>
    /// The receiving side never writes on this connection, so any read completing means it is gone
    /// (or broken): cancel the writer so the loop reconnects instead of writing into a dead socket.
    /// </summary>
    private static async Task WatchForCloseAsync(Socket socket, CancellationTokenSource connection, StrongBox<string?> reason)
    {
        var probe = new byte[1];
        try
        {
            var read = await socket.ReceiveAsync(probe, SocketFlags.None, connection.Token).ConfigureAwait(false);
            reason.Value = read == 0 ? "closed by the peer" : "the peer sent bytes on a send-only connection (protocol violation)";
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            reason.Value = e.Message;
        }
        finally
        {
            try
            {
                await connection.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
