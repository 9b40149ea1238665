using System.Buffers;
using System.Net.Sockets;
using Kv.Engine.IO;
using Kv.Node.Resp.Net;
using Kv.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

/// <summary>
/// One client connection: a loop that receives, parses and executes requests and sends their replies.
/// </summary>
/// <remarks>
/// Threading: <see cref="RunAsync"/> owns the parser, the request, the context and the reply outbox's
/// writing side. The server's sweeper thread only reads the activity timestamps and calls <see cref="Abort"/>.
/// Batching: every request already buffered is parsed and executed, replies accumulate in the outbox,
/// and the outbox is flushed once per batch (or every 64 KiB within a huge batch); a flush sends on the
/// loop's own thread (<see cref="ReplyOutbox"/>).
/// Output limit: when more than <c>OutputBufferLimit</c> reply bytes would wait for a client that is not
/// reading, the client is disconnected (Redis's hard output-buffer limit).
/// </remarks>
internal sealed class RespConnection
{
    private const int FlushEvery = 64 * 1024;
    private readonly RespServer _server;
    private readonly IClientTransport _transport;
    private readonly ReplyOutbox _output;
    private readonly ReceiveBuffer _input = new();
    private readonly CancellationTokenSource _aborted = new(); // ends a waiting receive when another thread aborts
    private readonly RespRequestParser _parser;
    private readonly RespRequest _request = new();
    private readonly ILogger _logger;
    private volatile string? _abortReason;
    private volatile bool _abortSilently;
    private long _lastActivityTicks;
    private long _partialSinceTicks;
    private volatile bool _executing;
    private volatile bool _closing; // the request loop has ended; what is left is sending the last replies
    private long _expected; // what the incomplete request at the buffer's start needs in all, when the parser knows

    public RespConnection(RespServer server, IClientTransport transport, long id)
    {
        _server = server;
        _transport = transport;
        var socket = transport.Socket;
        _logger = server.Logger;
        var options = server.Options;
        _output = new ReplyOutbox(transport, options.OutputBufferLimit, OnSendFailure);
        _parser = new RespRequestParser(options.Password is null ? server.Limits : RespLimits.Unauthenticated);
        Context = new CommandContext(server, id, socket.RemoteEndPoint, new RespReplyWriter(_output)) { Request = _request };
        _lastActivityTicks = Environment.TickCount64;
    }

    public CommandContext Context { get; }

    /// <summary>The transport's state, for a test's failure message.</summary>
    internal string Describe() => $"client {Context.Id}: {_transport}, executing {_executing}, replies unsent {_output.Waiting}";

    public long LastActivityTicks => Volatile.Read(ref _lastActivityTicks);

    /// <summary>When a partial request has been buffered since (ticks), 0 if none.</summary>
    public long PartialSinceTicks => Volatile.Read(ref _partialSinceTicks);

    public bool Executing => _executing;

    /// <summary>Closes the connection from another thread (timeouts, shutdown, CLIENT KILL); the reason is logged and, unless
    /// <paramref name="silently"/>, replied as an error where possible. Only a request timeout replies (the client is
    /// waiting for an answer to the request it did not finish); an idle client, one closed by shutdown or CLIENT KILL is
    /// closed silently, as Redis does: a reply nobody asked for is a protocol error to a client library (ioredis raised
    /// "Command queue state error" as an unhandled error event, which ends a Node.js process without a handler).</summary>
    public void Abort(string reason, bool silently = false)
    {
        _abortSilently = silently;
        _abortReason = reason;
        _aborted.Cancel(); // never disposed: it has no timer, and the sweeper may still abort a connection that just closed
        if (_closing) _transport.Abort(); // still sending its last replies to a client that does not read them
    }

    public async Task RunAsync()
    {
        var failedWrite = false;
        try
        {
            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _logger.LogDebug("client {Id} connection ended: {Message}", Context.Id, e.Message);
        }
        catch (DeferredWriteException e)
        {
            _logger.LogError(e, "client {Id}: a write failed after being accepted; closing the connection without acknowledging it", Context.Id);
            failedWrite = true;
        }
        catch (Exception e)
        {
            _logger.LogError(e, "client {Id}: unexpected error; closing the connection", Context.Id);
        }
        finally
        {
            try
            {
                await Context.DrainAsync().ConfigureAwait(false);
            }
            catch (DeferredWriteException)
            {
                // already closing; the failure was logged by whoever saw it first
            }
            _closing = true;
            if (failedWrite) _output.Discard();
            await _output.CompleteAsync().ConfigureAwait(false);
            _transport.Close();
            _input.Dispose();
            _parser.Dispose();
            Context.Dispose();
            _output.Dispose();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        while (true)
        {
            int received;
            try
            {
                received = await _transport.ReceiveAsync(_input.GetReceiveSpace(), _aborted.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_abortReason is not null)
            {
                received = -1;
            }
            Volatile.Write(ref _lastActivityTicks, Environment.TickCount64);
            if (_abortReason is { } reason)
            {
                if (!_abortSilently)
                {
                    Context.Reply.WriteError("ERR " + reason);
                    Flush();
                }
                _logger.LogInformation("client {Id} ({Remote}) disconnected: {Reason}", Context.Id, Context.RemoteEndPoint, reason);
                return;
            }
            if (received == 0)
            {
                if (_input.Length > 0) _logger.LogDebug("client {Id} closed mid-request", Context.Id);
                return;
            }
            _input.Received(received);
            SyncNudge.NudgeShared(); // a late WAL sync's completion may wait for this vCPU to trap (SyncNudge)
            var buffer = _input.Unparsed;
            var consumed = buffer.Start;
            var close = false;
            _executing = true;
            try
            {
                while (true)
                {
                    var remaining = buffer.Slice(consumed);
                    if (remaining.IsEmpty)
                    {
                        Volatile.Write(ref _partialSinceTicks, 0);
                        break;
                    }
                    var status = _parser.TryParse(remaining, _request, out var next);
                    if (status == RespParseStatus.Incomplete)
                    {
                        if (Volatile.Read(ref _partialSinceTicks) == 0) Volatile.Write(ref _partialSinceTicks, Environment.TickCount64);
                        _expected = _parser.BytesNeeded;
                        break;
                    }
                    if (status == RespParseStatus.Malformed)
                    {
                        await Context.DrainAsync().ConfigureAwait(false); // replies to the requests before it go first
                        _server.Stats.CountProtocolError();
                        Context.Reply.WriteError("ERR " + _parser.Error);
                        _logger.LogInformation("client {Id} ({Remote}) sent a malformed request: {Error}", Context.Id, Context.RemoteEndPoint, _parser.Error);
                        close = true;
                        break;
                    }
                    consumed = next;
                    Volatile.Write(ref _partialSinceTicks, 0);
                    if (_request.Count == 0) continue;

                    var task = _server.Dispatcher.ExecuteAsync(Context);
                    if (!task.IsCompletedSuccessfully) await task.ConfigureAwait(false);
                    if (_parser.LastRequestInScratch) await Context.DrainAsync().ConfigureAwait(false);
                    if (Context.CloseAfterReply)
                    {
                        close = true;
                        break;
                    }
                    if (ReferenceEquals(_parser.Limits, RespLimits.Unauthenticated) && Context.Authenticated) _parser.Limits = _server.Limits;
                    if (_output.Unflushed > FlushEvery)
                    {
                        await Context.DrainAsync().ConfigureAwait(false);
                        if (!Flush()) return;
                    }
                }
                await Context.DrainAsync().ConfigureAwait(false);
                if (!Flush()) return;
            }
            finally
            {
                _executing = false;
                _input.ConsumeTo(consumed);
                _input.Expect(_expected); // a large bulk's buffer grows to its size, not to the next power of two past it
                _expected = 0;
            }
            if (close) return;
        }
    }

    /// <summary>Sends the replies written so far; false when the connection is over its output limit (disconnected
    /// here) or already lost.</summary>
    private bool Flush()
    {
        switch (_output.Flush())
        {
            case OutboxFlush.Accepted:
                return true;
            case OutboxFlush.OverLimit:
                _server.Stats.CountOutputLimitDisconnect();
                _logger.LogWarning("client {Id} ({Remote}) disconnected: more than {Limit} bytes of replies unread (output-buffer-limit)",
                    Context.Id, Context.RemoteEndPoint, _server.Options.OutputBufferLimit);
                _transport.Abort();
                return false;
            default:
                return false;
        }
    }

    private void OnSendFailure(Exception e)
    {
        _logger.LogDebug("client {Id} send ended: {Message}", Context.Id, e.Message);
        Abort("connection lost");
    }
}
