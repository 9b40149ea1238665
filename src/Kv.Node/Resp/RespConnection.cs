using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Kv.Node.Resp.Net;
using Kv.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

/// <summary>
/// One client connection: a receive loop that parses and executes requests, and a send loop that
/// drains the reply pipe to the socket.
/// </summary>
/// <remarks>
/// Threading: <see cref="RunAsync"/> owns the parser, the request, the context and the reply pipe's
/// writer. The server's sweeper thread only reads the activity timestamps and calls <see cref="Abort"/>.
/// Batching: every request already buffered is parsed and executed, replies accumulate in the output
/// pipe, and the pipe is flushed once per batch (or every 64 KiB within a huge batch).
/// Output limit: the reply pipe pauses its writer at <c>OutputBufferLimit</c> unsent bytes; a flush
/// that would have to wait for the client to read means the client is not keeping up, and it is
/// disconnected (Redis's hard output-buffer limit).
/// </remarks>
internal sealed class RespConnection
{
    private const int FlushEvery = 64 * 1024;
    private readonly RespServer _server;
    private readonly IClientTransport _transport;
    private readonly Pipe _output;
    private readonly PipeReader _input;
    private readonly RespRequestParser _parser;
    private readonly RespRequest _request = new();
    private readonly ILogger _logger;
    private volatile string? _abortReason;
    private long _lastActivityTicks;
    private long _partialSinceTicks;
    private volatile bool _executing;

    public RespConnection(RespServer server, IClientTransport transport, long id)
    {
        _server = server;
        _transport = transport;
        var socket = transport.Socket;
        _logger = server.Logger;
        var options = server.Options;
        _output = new Pipe(new PipeOptions(
            pauseWriterThreshold: options.OutputBufferLimit,
            resumeWriterThreshold: options.OutputBufferLimit / 2,
            readerScheduler: PipeScheduler.Inline, // the send loop runs on the flushing thread: no thread-pool hop per reply batch
            writerScheduler: PipeScheduler.Inline,
            useSynchronizationContext: false));
        _input = PipeReader.Create(transport.Input, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        _parser = new RespRequestParser(options.Password is null ? server.Limits : RespLimits.Unauthenticated);
        Context = new CommandContext(server, id, socket.RemoteEndPoint, new RespReplyWriter(_output.Writer)) { Request = _request };
        _lastActivityTicks = Environment.TickCount64;
    }

    public CommandContext Context { get; }

    /// <summary>The transport's state, for a test's failure message.</summary>
    internal string Describe() => $"client {Context.Id}: {_transport}, executing {_executing}";

    public long LastActivityTicks => Volatile.Read(ref _lastActivityTicks);

    /// <summary>When a partial request has been buffered since (ticks), 0 if none.</summary>
    public long PartialSinceTicks => Volatile.Read(ref _partialSinceTicks);

    public bool Executing => _executing;

    /// <summary>Closes the connection from another thread (timeouts, shutdown); the reason is logged and, where possible, replied.</summary>
    public void Abort(string reason)
    {
        _abortReason = reason;
        _input.CancelPendingRead();
    }

    public async Task RunAsync()
    {
        var sender = SendLoopAsync();
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
            await _output.Writer.CompleteAsync(e).ConfigureAwait(false);
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
            catch (InvalidOperationException e)
            {
                // A late reply found the output already completed (closing after a failed write): nobody can receive it.
                _logger.LogDebug("client {Id}: late replies dropped while closing: {Message}", Context.Id, e.Message);
            }
            await _output.Writer.CompleteAsync().ConfigureAwait(false);
            await _input.CompleteAsync().ConfigureAwait(false);
            await sender.ConfigureAwait(false);
            _transport.Close();
            _parser.Dispose();
            Context.Dispose();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _output.Writer;
        while (true)
        {
            var result = await _input.ReadAsync().ConfigureAwait(false);
            Volatile.Write(ref _lastActivityTicks, Environment.TickCount64);
            if (_abortReason is { } reason)
            {
                Context.Reply.WriteError("ERR " + reason);
                await FlushAsync(writer).ConfigureAwait(false);
                _logger.LogInformation("client {Id} ({Remote}) disconnected: {Reason}", Context.Id, Context.RemoteEndPoint, reason);
                return;
            }
            if (result.IsCanceled)
            {
                _input.AdvanceTo(result.Buffer.Start);
                continue;
            }
            var buffer = result.Buffer;
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
                    if (writer.UnflushedBytes > FlushEvery)
                    {
                        await Context.DrainAsync().ConfigureAwait(false);
                        if (!await FlushAsync(writer).ConfigureAwait(false)) return;
                    }
                }
                await Context.DrainAsync().ConfigureAwait(false);
                if (!await FlushAsync(writer).ConfigureAwait(false)) return;
            }
            finally
            {
                _executing = false;
                _input.AdvanceTo(consumed, buffer.End);
            }
            if (close) return;
            if (result.IsCompleted)
            {
                if (!buffer.Slice(consumed).IsEmpty) _logger.LogDebug("client {Id} closed mid-request", Context.Id);
                return;
            }
        }
    }

    /// <summary>Flushes replies; false when the client is over the output limit and was disconnected.</summary>
    private async ValueTask<bool> FlushAsync(PipeWriter writer)
    {
        var flush = writer.FlushAsync();
        if (!flush.IsCompleted)
        {
            _server.Stats.CountOutputLimitDisconnect();
            _logger.LogWarning("client {Id} ({Remote}) disconnected: more than {Limit} bytes of replies unread (output-buffer-limit)",
                Context.Id, Context.RemoteEndPoint, _server.Options.OutputBufferLimit);
            _output.Reader.CancelPendingRead();
            _transport.Abort();
            return false;
        }
        var result = await flush.ConfigureAwait(false);
        return !result.IsCompleted;
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled) break;
                try
                {
                    foreach (var segment in buffer)
                    {
                        var sent = 0;
                        while (sent < segment.Length) sent += await _transport.SendAsync(segment[sent..]).ConfigureAwait(false);
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
                if (result.IsCompleted) break;
            }
        }
        catch (Exception e)
        {
            _logger.LogDebug("client {Id} send ended: {Message}", Context.Id, e.Message);
            Abort("connection lost");
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }
}
