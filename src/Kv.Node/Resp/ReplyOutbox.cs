using System.Buffers;
using Kv.Node.Resp.Net;
using Kv.Protocol.Buffers;

namespace Kv.Node.Resp;

/// <summary>What <see cref="ReplyOutbox.Flush"/> did with the replies.</summary>
internal enum OutboxFlush
{
    /// <summary>Sent, or queued behind a send that waits for the client to read.</summary>
    Accepted,

    /// <summary>More than the output limit would wait for the client: nothing was queued, disconnect it.</summary>
    OverLimit,

    /// <summary>An earlier send failed (the connection is gone): nothing was queued.</summary>
    Failed,
}

/// <summary>
/// A connection's replies on their way to its socket. The request loop writes replies here (this is its reply
/// writer's buffer) and calls <see cref="Flush"/> once per batch; the flush sends them at once on the calling thread
/// when the socket's buffer takes them, which is the usual case, so a reply costs one <c>send</c> and no hand-over to
/// another loop. Only when the socket is full does a background send take the rest and wait for the client to read;
/// replies flushed meanwhile queue behind it in order, and a flush that would leave more than the output limit
/// waiting is refused (Redis's hard output-buffer limit: the caller disconnects the client).
/// </summary>
/// <remarks>
/// Threading: one owner at a time writes and calls <see cref="Flush"/>, <see cref="Discard"/> and
/// <see cref="CompleteAsync"/> (the connection's request loop, on whichever thread it continues). The background
/// send runs on the transport's completion threads. <c>_lock</c> guards <c>_sending</c>, <c>_queued</c>,
/// <c>_waiting</c> and <c>_failure</c>. Only the owner starts a background send, and only while none runs, so when
/// the owner finds <c>_sending</c> false it may send directly without the lock: no one else sends then.
/// </remarks>
internal sealed class ReplyOutbox : IBufferWriter<byte>, IDisposable
{
    private readonly IClientTransport _transport;
    private readonly long _limit;
    private readonly Action<Exception> _onSendFailure;
    private readonly object _lock = new();
    private PooledBufferWriter _writing = new(4096); // owner only
    private Task _background = Task.CompletedTask; // owner only: the last background send started
    private bool _sending;
    private PooledBufferWriter? _queued;
    private long _waiting; // bytes flushed and not yet sent: the background send's rest plus the queue
    private Exception? _failure;

    public ReplyOutbox(IClientTransport transport, long limit, Action<Exception> onSendFailure)
    {
        _transport = transport;
        _limit = limit;
        _onSendFailure = onSendFailure;
    }

    /// <summary>Reply bytes written and not yet flushed.</summary>
    public int Unflushed => _writing.WrittenCount;

    /// <summary>Bytes flushed that the client has not taken yet (for a test's failure message).</summary>
    public long Waiting
    {
        get
        {
            lock (_lock) return _waiting;
        }
    }

    public void Advance(int count) => _writing.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _writing.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _writing.GetSpan(sizeHint);

    /// <summary>Sends what was written since the last flush, or queues it behind a send still waiting for the client.</summary>
    public OutboxFlush Flush()
    {
        var count = _writing.WrittenCount;
        lock (_lock)
        {
            if (_failure is not null)
            {
                _writing.Reset();
                return OutboxFlush.Failed;
            }
            if (count == 0) return OutboxFlush.Accepted;
            if (_sending)
            {
                if (_waiting + count > _limit) return OutboxFlush.OverLimit;
                (_queued ??= new PooledBufferWriter(count)).Write(_writing.WrittenSpan);
                _waiting += count;
                _writing.Reset();
                return OutboxFlush.Accepted;
            }
        }
        var sent = 0;
        while (sent < count)
        {
            var send = _transport.SendAsync(_writing.WrittenMemory[sent..]);
            if (!send.IsCompletedSuccessfully)
            {
                // The socket is full (or failed): the rest goes out in the background and the owner writes on.
                var rest = _writing;
                _writing = new PooledBufferWriter(4096);
                lock (_lock)
                {
                    _sending = true;
                    _waiting = count - sent;
                }
                _background = SendInBackgroundAsync(send, rest, sent);
                return count - sent > _limit ? OutboxFlush.OverLimit : OutboxFlush.Accepted;
            }
            sent += send.Result;
        }
        _writing.Reset();
        return OutboxFlush.Accepted;
    }

    /// <summary>Drops what was written since the last flush (the connection closes without it).</summary>
    public void Discard() => _writing.Reset();

    /// <summary>Flushes what is left (unless that is over the limit) and waits until everything flushed was sent or
    /// the send failed; the connection closes after this.</summary>
    public async Task CompleteAsync()
    {
        Flush();
        try
        {
            await _background.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // reported through _onSendFailure when it happened
        }
    }

    private async Task SendInBackgroundAsync(ValueTask<int> first, PooledBufferWriter buffer, int offset)
    {
        try
        {
            var n = await first.ConfigureAwait(false);
            while (true)
            {
                offset += n;
                lock (_lock) _waiting -= n;
                if (offset < buffer.WrittenCount)
                {
                    n = await _transport.SendAsync(buffer.WrittenMemory[offset..]).ConfigureAwait(false);
                    continue;
                }
                buffer.Reset();
                lock (_lock)
                {
                    if (_queued is not { WrittenCount: > 0 } queued)
                    {
                        _sending = false;
                        buffer.Dispose();
                        return;
                    }
                    _queued = buffer; // empty now: the next flushes queue into it
                    buffer = queued;
                }
                offset = 0;
                n = 0;
            }
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                _failure = e;
                _sending = false;
                _waiting = 0;
                _queued?.Reset();
            }
            buffer.Dispose();
            _onSendFailure(e);
        }
    }

    /// <summary>Returns the buffers to the pool; call after <see cref="CompleteAsync"/>.</summary>
    public void Dispose()
    {
        _writing.Dispose();
        lock (_lock)
        {
            _queued?.Dispose();
            _queued = null;
        }
    }
}
