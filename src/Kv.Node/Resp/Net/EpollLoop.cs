using System.Net.Sockets;
using System.Runtime.InteropServices;
using Kv.Engine.IO;
using Kv.Node.Hosting;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp.Net;

/// <summary>
/// The node's socket threads (RESP clients, and a cluster node's inbound peers): several threads waiting on one shared
/// epoll set, so any idle thread serves any client that has something to read.
/// </summary>
/// <remarks>
/// Why not the runtime's sockets: its engine gives each socket to one of its epoll threads for good. On a machine
/// where the clients (or other nodes) compete for the cores, a thread that is preempted holds up every client it
/// owns until it runs again, even when the other thread is idle: redis-benchmark's GET without pipelining showed a
/// p99 of 1.5-4 ms against 0.8 ms with a single thread (docs/protocol.md, "Threads"). Here a ready socket goes to
/// whichever thread is in <c>epoll_wait</c>, one event per wait, so a preempted thread delays only the request it is
/// running.
/// <para>Sockets are registered edge-triggered for reading and writing; <see cref="EpollSocket"/> turns the edges
/// into completions of its pending receive or send. An event names its socket by slot and generation, so an event
/// still in flight for a closed socket finds a stale generation and is dropped. A socket is never removed from the
/// set explicitly: closing its descriptor removes it, and doing it by hand after close could remove a new socket that
/// reused the number.</para>
/// <para>Continuations of completed receives run on the loop thread when <c>inline</c> (the request then executes
/// there, as with the runtime's inline completions), otherwise on the thread pool.</para>
/// </remarks>
internal sealed unsafe class EpollLoop : IDisposable
{
    private const ulong WakeData = ulong.MaxValue;
    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread[] _threads;
    private const int BusyStride = 16; // longs: each thread's flag on its own 128 bytes, written by that thread only
    private readonly long[] _busy;
    private readonly ILogger _logger;
    private readonly object _slotLock = new();
    private EpollSocket?[] _slots = new EpollSocket?[64];
    private uint[] _generations = new uint[64];
    private readonly Stack<int> _freeSlots = new();
    private int _slotsUsed;
    private int _references; // the threads still running, plus one held by the owner until Dispose
    private int _disposed;
    private volatile bool _stopping;

    public EpollLoop(int threads, bool inlineCompletions, ILogger logger)
    {
        if (!Epoll.IsSupported) throw new PlatformNotSupportedException("the epoll socket engine needs Linux on x86-64");
        _logger = logger;
        InlineCompletions = inlineCompletions;
        _epoll = Epoll.Create(Epoll.CloseOnExec);
        if (_epoll < 0) throw Epoll.Failure("epoll_create1", Marshal.GetLastPInvokeError());
        _wake = Epoll.EventFd(0, Epoll.CloseOnExec | Epoll.EventFdNonBlocking);
        if (_wake < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Epoll.Close(_epoll);
            throw Epoll.Failure("eventfd", errno);
        }
        var ev = new Epoll.Event { Events = Epoll.In, Data = WakeData }; // level-triggered: every thread sees the stop
        if (Epoll.Control(_epoll, Epoll.ControlAdd, _wake, &ev) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Epoll.Close(_wake);
            Epoll.Close(_epoll);
            throw Epoll.Failure("epoll_ctl", errno);
        }
        _threads = new Thread[Math.Max(1, threads)];
        _busy = new long[(_threads.Length + 1) * BusyStride];
        _references = _threads.Length + 1;
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"kv-io-{i}" };
            _threads[i].Start(i);
        }
    }

    /// <summary>Whether one of the loop's threads is handling an event (a request, a peer's message) or ended one within
    /// the last few milliseconds (<see cref="RecentlyBusyMs"/>, on the coarse clock of <see cref="Environment.TickCount64"/>):
    /// the engine's flush pauses while it is (<c>EngineOptions.ForegroundBusy</c>). Under a steady load the threads are
    /// between events a good part of the time, so "inside an event right now" let the flush run in every gap.</summary>
    public bool AnyThreadBusy
    {
        get
        {
            var busy = _busy;
            var now = Environment.TickCount64;
            for (var i = 1; i <= _threads.Length; i++)
            {
                var state = Volatile.Read(ref busy[i * BusyStride]);
                if (state == InEvent || now - state <= RecentlyBusyMs) return true;
            }
            return false;
        }
    }

    private const long InEvent = long.MaxValue;
    private const long RecentlyBusyMs = 2;

    public bool InlineCompletions { get; }

    /// <summary>
    /// The loop <paramref name="options"/> ask for (<see cref="NodeOptions.SocketEngine"/>, <see cref="NodeOptions.IoThreads"/>,
    /// <see cref="NodeOptions.InlineCompletions"/>), or null for the runtime's sockets: when configured so, unsupported
    /// here, or when the loop cannot start (logged).
    /// </summary>
    public static EpollLoop? TryStart(NodeOptions options, ILogger logger)
    {
        if (options.SocketEngine != SocketEngine.Epoll || !Epoll.IsSupported) return null;
        try
        {
            return new EpollLoop(options.IoThreads > 0 ? options.IoThreads : Environment.ProcessorCount, options.InlineCompletions, logger);
        }
        catch (IOException e)
        {
            logger.LogWarning("the epoll socket engine could not start ({Message}); using the runtime's sockets", e.Message);
            return null;
        }
    }

    /// <summary>Sockets registered and not yet released.</summary>
    internal int SocketCount
    {
        get
        {
            lock (_slotLock) return _slotsUsed - _freeSlots.Count;
        }
    }

    /// <summary>Takes over <paramref name="socket"/> (made non-blocking); its I/O must go through the result from now on.</summary>
    public EpollSocket Register(Socket socket)
    {
        // Hold the descriptors open while registering: a Register racing Dispose must not add the socket to whatever
        // file a closed epoll number has become.
        if (!TryAddReference()) throw new ObjectDisposedException(nameof(EpollLoop));
        try
        {
            return RegisterHoldingReference(socket);
        }
        finally
        {
            ReleaseReference();
        }
    }

    private EpollSocket RegisterHoldingReference(Socket socket)
    {
        socket.Blocking = false;
        EpollSocket result;
        lock (_slotLock)
        {
            int slot;
            if (_freeSlots.Count > 0)
            {
                slot = _freeSlots.Pop();
            }
            else
            {
                slot = _slotsUsed++;
                if (slot == _slots.Length)
                {
                    // readers index the published array without the lock: copy, then publish the bigger one
                    var slots = new EpollSocket?[_slots.Length * 2];
                    Array.Copy(_slots, slots, _slots.Length);
                    Array.Resize(ref _generations, slots.Length);
                    Volatile.Write(ref _slots, slots);
                }
            }
            result = new EpollSocket(this, socket, slot, _generations[slot]);
            Volatile.Write(ref _slots[slot], result);
        }
        var ev = new Epoll.Event
        {
            Events = Epoll.In | Epoll.Out | Epoll.ReadHangUp | Epoll.EdgeTriggered,
            Data = ((ulong)result.Generation << 32) | (uint)result.Slot,
        };
        if (Epoll.Control(_epoll, Epoll.ControlAdd, (int)socket.Handle, &ev) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Release(result);
            throw Epoll.Failure("epoll_ctl", errno);
        }
        return result;
    }

    /// <summary>Frees the socket's slot; events still in flight for it are dropped from now on.</summary>
    internal void Release(EpollSocket socket)
    {
        lock (_slotLock)
        {
            if (!ReferenceEquals(_slots[socket.Slot], socket)) return;
            _slots[socket.Slot] = null;
            _generations[socket.Slot]++;
            _freeSlots.Push(socket.Slot);
        }
    }

    private void Run(object? index)
    {
        try
        {
            Serve(ref _busy[((int)index! + 1) * BusyStride]);
        }
        finally
        {
            ReleaseReference();
        }
    }

    /// <summary>
    /// The descriptors close when the last thread has left and the owner has disposed. Closing them in Dispose, which
    /// may run on a loop thread (the server's stop continues where its last connection ended), let that thread wait
    /// on the closed number again, by then perhaps another loop's epoll set, and take that loop's events: its clients
    /// hung (the long test suite, many servers in one process, caught it).
    /// </summary>
    private bool TryAddReference()
    {
        while (true)
        {
            var references = Volatile.Read(ref _references);
            if (references == 0 || _stopping) return false;
            if (Interlocked.CompareExchange(ref _references, references + 1, references) == references) return true;
        }
    }

    private void ReleaseReference()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        Epoll.Close(_wake);
        Epoll.Close(_epoll);
    }

    private void Serve(ref long busy)
    {
        // One event per wait: a thread holds no ready socket that another idle thread could serve meanwhile.
        Epoll.Event ev;
        while (!_stopping)
        {
            var n = Epoll.Wait(_epoll, &ev, 1, -1);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Epoll.EINTR) continue;
                if (!_stopping) _logger.LogCritical("epoll_wait failed: {Error}; this socket I/O thread stops", Epoll.Failure("epoll_wait", errno).Message);
                return;
            }
            if (n == 0 || ev.Data == WakeData) continue; // the wake-up is level-triggered: every thread sees it
            var slot = (int)(uint)ev.Data;
            var generation = (uint)(ev.Data >> 32);
            var slots = Volatile.Read(ref _slots);
            if ((uint)slot >= (uint)slots.Length || Volatile.Read(ref slots[slot]) is not { } socket || socket.Generation != generation) continue;
            IoEvent.Begin();
            Volatile.Write(ref busy, InEvent);
            try
            {
                socket.OnEvents(ev.Events);
            }
            catch (Exception e)
            {
                // Completions run the connection's code inline, which handles its own failures; this is a last guard so
                // that one client's bug cannot stop a thread serving all the others.
                _logger.LogError(e, "socket I/O thread: unexpected error handling a socket event");
            }
            finally
            {
                IoEvent.End(_logger); // sends what the event's requests gathered (IoEvent)
                Volatile.Write(ref busy, Environment.TickCount64); // a vDSO read of the coarse clock, ~5 ns an event
            }
            SyncNudge.NudgeShared(); // a late WAL sync's completion may wait for this vCPU to trap (SyncNudge)
        }
    }

    /// <summary>Stops the threads once each finishes what it runs; the last one closes the descriptors. Call after the
    /// sockets are closed: events still coming are dropped. Never blocks (it may run on a loop thread).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping = true;
        ulong one = 1;
        Epoll.Write(_wake, (byte*)&one, sizeof(ulong));
        ReleaseReference();
    }
}
