using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Kv.Node.Resp.Net;

/// <summary>
/// A client socket served by an <see cref="EpollLoop"/> (a RESP client, or an inbound peer): <see cref="ReceiveAsync"/> and
/// <see cref="SendAsync"/>.
/// </summary>
/// <remarks>
/// <para>Receiving. The socket is registered edge-triggered, so the loop reports data once when it arrives, not while it
/// stays unread. The loop counts those reports in <c>_readEvents</c>; a receive remembers the count it started from.
/// <see cref="ReceiveAsync"/> calls <c>recv</c> only when a report came since the last
/// receive or the last receive filled its whole buffer (more may be queued); otherwise it waits for the loop without a
/// system call, which saves the <c>recv</c> that would find nothing after each reply when the client waits for it. A
/// waiting receive is handed over through <c>_readState</c>: the loop claims it (Waiting → Claimed), receives into its
/// buffer and completes it; a report that lands while the reader is about to wait makes the reader take the receive
/// back (Waiting → Idle) and try again itself, so no report is lost. That needs a full fence between publishing
/// Waiting and re-reading the count (the loop increments the count, a locked instruction, then reads the state): with
/// a plain volatile write the re-read can pass the write, each side misses the other's change and the client waits
/// forever (<c>SocketEngineTests.ManyRoundTrips_NoRequestLeftUnread</c> caught it about once in 30 runs). A receive
/// that is claimed and finds nothing (the report was for data an earlier receive already took) goes back to waiting.
/// A hang-up or error report is also remembered, as the low bit of the same word (the count steps by two): data and a
/// FIN that arrive together make one report, the first <c>recv</c> returns the data, and no further report would
/// announce the end of the stream, so receives call <c>recv</c> while the bit is set. Only a <c>recv</c> that finds the
/// socket empty clears it, and only if the word has not changed since that receive read it (see <see cref="ForgetHangUp"/>).</para>
/// <para>Sending. <c>send</c> runs on the caller's thread; only when the socket's buffer is full does the sender wait
/// for the loop's next writable report, with the same count-then-recheck handshake.</para>
/// <para>Closing. Every system call holds a reference on the socket's handle, so a descriptor is not closed (and its
/// number reused by another client) while a call on it runs. <see cref="Abort"/> fails a waiting send at once.</para>
/// </remarks>
internal sealed class EpollSocket : IClientTransport, IValueTaskSource<int>
{
    private const int Idle = 0, Waiting = 1, Claimed = 2;
    private readonly EpollLoop _loop;
    private readonly SafeSocketHandle _handle;

    // receive side: the reader owns _mayHaveMore, _readSeen and _readBuffer except while a receive is Waiting/Claimed
    private const int PeerClosed = 1, Report = 2;
    private int _readEvents; // reports, counted in steps of Report; | PeerClosed: one said hang-up or error, so receive until recv says which, never wait first
    private int _readSeen = -1;
    private bool _mayHaveMore = true;
    private int _readState;
    private Memory<byte> _readBuffer;
    private ManualResetValueTaskSourceCore<int> _read;
    private CancellationTokenRegistration _readCancellation;

    // send side
    private int _writeEvents;
    private TaskCompletionSource? _writable;
    private volatile bool _aborted;

    internal EpollSocket(EpollLoop loop, Socket socket, int slot, uint generation)
    {
        _loop = loop;
        Socket = socket;
        _handle = socket.SafeHandle;
        Slot = slot;
        Generation = generation;
        _read.RunContinuationsAsynchronously = !loop.InlineCompletions;
    }

    internal int Slot { get; }

    internal uint Generation { get; }

    public Socket Socket { get; }

    /// <summary>The hand-off state, for a test's failure message.</summary>
    public override string ToString()
    {
        var events = Volatile.Read(ref _readEvents);
        return $"receive state {_readState}, read reports {events >> 1} (seen {_readSeen >> 1}), may have more {_mayHaveMore}, " +
            $"peer closed {(events & PeerClosed) != 0}, write reports {Volatile.Read(ref _writeEvents)}, send waiting {Volatile.Read(ref _writable) is not null}";
    }

    /// <summary>Called by a loop thread for each report on this socket.</summary>
    internal void OnEvents(uint events)
    {
        if ((events & (Epoll.Out | Epoll.Error | Epoll.HangUp)) != 0)
        {
            Interlocked.Increment(ref _writeEvents);
            Interlocked.Exchange(ref _writable, null)?.TrySetResult();
        }
        if ((events & (Epoll.In | Epoll.ReadHangUp | Epoll.Error | Epoll.HangUp)) != 0)
        {
            // After data and a FIN (or RST) that arrive together, one recv takes the data and the hang-up is still to be
            // read; edge-triggered, no report will come for it again. The count first, then the mark: a receive that
            // clears the mark (ForgetHangUp) then either read the word after this count, so its empty recv came after
            // what this report announced, or clears before the mark is set.
            Interlocked.Add(ref _readEvents, Report);
            if ((events & (Epoll.ReadHangUp | Epoll.Error | Epoll.HangUp)) != 0) Interlocked.Or(ref _readEvents, PeerClosed);
            CompleteWaitingRead();
        }
    }

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.IsEmpty) return new ValueTask<int>(0);
        while (true)
        {
            var events = Volatile.Read(ref _readEvents);
            if (_mayHaveMore || (events & PeerClosed) != 0 || events != _readSeen)
            {
                _readSeen = events;
                var n = ReceiveOnce(buffer.Span, out var errno);
                if (n >= 0)
                {
                    _mayHaveMore = n == buffer.Length;
                    return new ValueTask<int>(n);
                }
                if (errno != Epoll.EAGAIN) return ValueTask.FromException<int>(Epoll.Failure("recv", errno));
                _mayHaveMore = false;
                _readSeen = ForgetHangUp(events);
                continue; // a report may have come meanwhile
            }
            if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);

            _read.Reset();
            var version = _read.Version;
            _readBuffer = buffer;
            if (cancellationToken.CanBeCanceled)
                _readCancellation = cancellationToken.UnsafeRegister(static s => ((EpollSocket)s!).CancelWaitingRead(), this);
            // A full fence between publishing Waiting and re-reading the count (Volatile.Write then Volatile.Read may be
            // reordered, store before load): the loop increments, then reads the state, so one of the two sees the other.
            Interlocked.Exchange(ref _readState, Waiting);
            if (Volatile.Read(ref _readEvents) != events || cancellationToken.IsCancellationRequested)
            {
                if (Interlocked.CompareExchange(ref _readState, Idle, Waiting) == Waiting)
                {
                    // took it back before the loop (or the cancellation) did: handle it here
                    _readCancellation.Unregister();
                    _readCancellation = default;
                    _readBuffer = default;
                    if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
                    continue;
                }
            }
            return new ValueTask<int>(this, version);
        }
    }

    /// <summary>Loop thread: receives for the waiting reader, if there is one.</summary>
    private void CompleteWaitingRead()
    {
        while (Volatile.Read(ref _readState) == Waiting && Interlocked.CompareExchange(ref _readState, Claimed, Waiting) == Waiting)
        {
            var events = Volatile.Read(ref _readEvents);
            _readSeen = events;
            var n = ReceiveOnce(_readBuffer.Span, out var errno);
            if (n < 0 && errno == Epoll.EAGAIN)
            {
                // The report was for data an earlier receive took: wait again, unless another report came meanwhile.
                _mayHaveMore = false;
                events = ForgetHangUp(events);
                _readSeen = events;
                Interlocked.Exchange(ref _readState, Waiting); // a full fence, as in ReceiveAsync
                if (Volatile.Read(ref _readEvents) != events) continue;
                return;
            }
            var length = _readBuffer.Length;
            _readBuffer = default;
            Volatile.Write(ref _readState, Idle);
            if (n >= 0)
            {
                _mayHaveMore = n == length;
                _read.SetResult(n);
            }
            else
            {
                _read.SetException(Epoll.Failure("recv", errno));
            }
            return;
        }
    }

    /// <summary>
    /// A recv found the socket empty after the reader read <paramref name="events"/>: a hang-up marked there is over (a
    /// later one is reported again). Returns the word as the reader has now seen it.
    /// </summary>
    /// <remarks>
    /// The mark is cleared only if no report came since <paramref name="events"/> was read. Clearing a separate flag
    /// after the empty recv lost the end of the stream: the recv finds nothing, a client's last bytes and its FIN arrive,
    /// the loop marks the hang-up and counts the report, then the flag is cleared; the count makes the reader call recv
    /// again, which returns the bytes and leaves the FIN, and the next receive waits for a report that never comes
    /// (<c>SocketEngineTests.ClientsComingAndGoing_ReuseNothingStale</c>: a client that sent half a request and closed
    /// stayed connected, about once in 100 rounds on a loaded machine, its socket in CLOSE_WAIT).
    /// </remarks>
    private int ForgetHangUp(int events)
    {
        if ((events & PeerClosed) == 0) return events;
        var cleared = events & ~PeerClosed;
        return Interlocked.CompareExchange(ref _readEvents, cleared, events) == events ? cleared : events;
    }

    private void CancelWaitingRead()
    {
        if (Interlocked.CompareExchange(ref _readState, Idle, Waiting) != Waiting) return;
        _readBuffer = default;
        _read.SetException(new OperationCanceledException());
    }

    private int ReceiveOnce(Span<byte> buffer, out int errno) =>
        Transfer(ref MemoryMarshal.GetReference(buffer), buffer.Length, send: false, out errno);

    private int SendOnce(ReadOnlySpan<byte> data, out int errno) =>
        Transfer(ref MemoryMarshal.GetReference(data), data.Length, send: true, out errno);

    /// <summary>One non-blocking recv or send; -1 with errno on failure (EBADF once the socket is closed).</summary>
    private unsafe int Transfer(ref byte start, int length, bool send, out int errno)
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var fd = (int)_handle.DangerousGetHandle();
            nint n;
            fixed (byte* p = &start)
            {
                n = send
                    ? Epoll.Send(fd, p, (nuint)length, Epoll.MsgNoSignal | Epoll.MsgDontWait)
                    : Epoll.Receive(fd, p, (nuint)length, Epoll.MsgDontWait);
            }
            errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            return (int)n;
        }
        catch (ObjectDisposedException)
        {
            errno = Epoll.EBADF;
            return -1;
        }
        finally
        {
            if (added) _handle.DangerousRelease();
        }
    }

    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> data)
    {
        var events = Volatile.Read(ref _writeEvents);
        var n = SendOnce(data.Span, out var errno);
        if (n >= 0) return new ValueTask<int>(n);
        if (errno != Epoll.EAGAIN) return ValueTask.FromException<int>(Epoll.Failure("send", errno));
        return SendWhenWritableAsync(data, events);
    }

    private async ValueTask<int> SendWhenWritableAsync(ReadOnlyMemory<byte> data, int events)
    {
        while (true)
        {
            var writable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _writable, writable); // a full fence before re-reading the count, as for receives
            if (Volatile.Read(ref _writeEvents) == events && !_aborted) await writable.Task.ConfigureAwait(false);
            else Interlocked.CompareExchange(ref _writable, null, writable);
            if (_aborted) throw new IOException("the connection was closed");
            events = Volatile.Read(ref _writeEvents);
            var n = SendOnce(data.Span, out var errno);
            if (n >= 0) return n;
            if (errno != Epoll.EAGAIN) throw Epoll.Failure("send", errno);
        }
    }

    public void Abort()
    {
        _aborted = true;
        Interlocked.Exchange(ref _writable, null)?.TrySetResult();
        Socket.Close(0);
    }

    public void Close()
    {
        RuntimeSocketTransport.ShutdownAndDispose(Socket);
        _loop.Release(this);
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        _readCancellation.Unregister();
        _readCancellation = default;
        return _read.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);
}
