using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Kv.Node.Hosting;
using Kv.Node.Resp.Net;
using Kv.Node.Storage;
using Kv.Protocol.Resp;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp;

/// <summary>
/// The RESP front end: accepts TCP connections and runs one <see cref="RespConnection"/> per client.
/// </summary>
/// <remarks>
/// Threading: <see cref="StartAsync"/> and <see cref="StopAsync"/> are called once each by the host.
/// The accept loop, one loop per connection and a sweeper timer (timeouts) run concurrently; the
/// connection registry is a concurrent dictionary. Shutdown: stop accepting, let each connection finish
/// the batch it is executing (up to the shutdown timeout), then close the remaining connections.
/// </remarks>
public sealed class RespServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, RespConnection> _connections = new();
    private readonly ConcurrentDictionary<long, Task> _connectionTasks = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _shutdownRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Socket? _listener;
    private Task? _acceptLoop;
    private ITimer? _sweeper;
    private EpollLoop? _loop;
    private long _nextClientId;

    public RespServer(NodeOptions options, IKeyspace keyspace, TimeProvider time, ILoggerFactory loggerFactory)
    {
        Options = options;
        Keyspace = keyspace;
        Time = time;
        Logger = loggerFactory.CreateLogger("Kv.Node.Resp");
        Limits = new RespLimits
        {
            MaxBulkLength = options.MaxBulkLength,
            MaxArgumentCount = options.MaxMultibulkLength,
            MaxInlineLength = options.MaxInlineLength,
            MaxRequestBytes = options.MaxRequestBytes,
        };
        Dispatcher = new CommandDispatcher(CommandTable.Default);
        CommandStats = new CommandStatistics(); // after the table: sized for every command defined by now
        Slowlog = new Slowlog(options.SlowlogLogSlowerThan, options.SlowlogMaxLength, time);
        StartedAt = time.GetUtcNow();
    }

    public NodeOptions Options { get; }

    public IKeyspace Keyspace { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public RespLimits Limits { get; }

    public ServerStats Stats { get; } = new();

    /// <summary>Per-command counters (INFO commandstats).</summary>
    public CommandStatistics CommandStats { get; }

    /// <summary>The node's slow log (SLOWLOG), fed by every connection's <see cref="CommandDispatcher"/>.</summary>
    public Slowlog Slowlog { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Checkpoints and scrubs of the node's engine (SAVE, SCRUB); null when the server has no engine (tests).</summary>
    public EngineMaintenance? Maintenance { get; init; }

    internal CommandDispatcher Dispatcher { get; }

    /// <summary>An epoll loop the host shares between this server and the internode transport (it disposes it).</summary>
    internal EpollLoop? SharedLoop { get; init; }

    /// <summary>The bound endpoint (useful with port 0).</summary>
    public IPEndPoint? EndPoint => _listener?.LocalEndPoint as IPEndPoint;

    public int ConnectedClients => _connections.Count;

    /// <summary>Every connection's transport state, for a test's failure message.</summary>
    internal string DescribeConnections() => string.Join("; ", _connections.Values.Select(c => c.Describe()));

    /// <summary>Who serves client sockets once started: "epoll" (<see cref="EpollLoop"/>) or "runtime" (.NET's sockets).</summary>
    public string SocketEngineName => _loop is null ? "runtime" : "epoll";

    /// <summary>Completes when a client ran SHUTDOWN; the host then stops the node.</summary>
    public Task ShutdownRequested => _shutdownRequested.Task;

    internal void RequestShutdown() => _shutdownRequested.TrySetResult();

    /// <summary>Snapshot of the sessions, for CLIENT LIST and INFO clients.</summary>
    public IReadOnlyList<CommandContext> Clients()
    {
        var list = new List<CommandContext>(_connections.Count);
        foreach (var pair in _connections) list.Add(pair.Value.Context);
        list.Sort((a, b) => a.Id.CompareTo(b.Id));
        return list;
    }

    /// <summary>CLIENT KILL: closes every connection <paramref name="match"/> selects and returns how many it selected. Another
    /// connection is aborted (a request it is running finishes first); <paramref name="asker"/> itself, when selected and
    /// not skipped, closes after its reply.</summary>
    internal int Kill(Func<CommandContext, bool> match, CommandContext asker, bool skipAsker)
    {
        var killed = 0;
        foreach (var pair in _connections)
        {
            var context = pair.Value.Context;
            if (!match(context) || (skipAsker && ReferenceEquals(context, asker))) continue;
            if (ReferenceEquals(context, asker)) asker.CloseAfterReply = true;
            else pair.Value.Abort($"closed by CLIENT KILL from client {asker.Id} ({asker.RemoteEndPoint})", silently: true); // the connection logs it
            killed++;
        }
        return killed;
    }

    public Task StartAsync()
    {
        if (!IPAddress.TryParse(Options.Bind, out var address))
            throw new ConfigurationException($"bind: '{Options.Bind}' is not an IP address (use e.g. 127.0.0.1, 0.0.0.0 or ::)");
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(address, Options.RespPort));
            listener.Listen(512);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new ConfigurationException($"cannot listen on {Options.Bind}:{Options.RespPort}: {e.Message} (is another server using the port? choose one with --resp-port)");
        }
        _listener = listener;
        _loop = SharedLoop ?? EpollLoop.TryStart(Options, Logger);
        _acceptLoop = AcceptLoopAsync(listener);
        _sweeper = TimeProvider.System.CreateTimer(_ => Sweep(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
        Logger.LogInformation("RESP listening on {EndPoint}", listener.LocalEndPoint);
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stopping.IsCancellationRequested) return;
                Logger.LogWarning("accept failed: {Message}", e.Message);
                continue;
            }
            Stats.CountConnection();
            socket.NoDelay = true;
            if (_connections.Count >= Options.MaxClients)
            {
                Stats.CountRejectedConnection();
                _ = RejectAsync(socket);
                continue;
            }
            IClientTransport transport;
            try
            {
                transport = _loop is null ? new RuntimeSocketTransport(socket) : _loop.Register(socket);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                Logger.LogWarning("cannot serve a new client: {Message}", e.Message);
                socket.Dispose();
                continue;
            }
            var id = Interlocked.Increment(ref _nextClientId);
            var connection = new RespConnection(this, transport, id);
            _connections[id] = connection;
            _connectionTasks[id] = RunConnectionAsync(id, connection);
        }
    }

    private static async Task RejectAsync(Socket socket)
    {
        try
        {
            await socket.SendAsync("-ERR max number of clients reached\r\n"u8.ToArray(), SocketFlags.None).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    private async Task RunConnectionAsync(long id, RespConnection connection)
    {
        await Task.Yield();
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Logger.LogError(e, "client {Id}: connection loop failed", id);
        }
        finally
        {
            _connections.TryRemove(id, out _);
            _connectionTasks.TryRemove(id, out _);
        }
    }

    private void Sweep()
    {
        var now = Environment.TickCount64;
        var idle = (long)Options.IdleTimeout.TotalMilliseconds;
        var request = (long)Options.RequestTimeout.TotalMilliseconds;
        foreach (var pair in _connections)
        {
            var c = pair.Value;
            if (c.Executing) continue;
            var partial = c.PartialSinceTicks;
            if (request > 0 && partial != 0 && now - partial > request)
            {
                Stats.CountTimeoutDisconnect();
                c.Abort("request not completed within request-timeout; closing the connection");
            }
            else if (idle > 0 && now - c.LastActivityTicks > idle)
            {
                Stats.CountTimeoutDisconnect();
                c.Abort("idle for longer than idle-timeout; closing the connection", silently: true);
            }
        }
    }

    /// <summary>Stops accepting, lets connections finish what they execute, then closes them.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _listener?.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        _sweeper?.Dispose();
        foreach (var pair in _connections) pair.Value.Abort("server is shutting down", silently: true);
        var all = Task.WhenAll(_connectionTasks.Values);
        var finished = await Task.WhenAny(all, Task.Delay(Options.ShutdownTimeout)).ConfigureAwait(false);
        if (finished != all) Logger.LogWarning("{Count} connections did not finish within the shutdown timeout", _connections.Count);
        else if (SharedLoop is null) _loop?.Dispose(); // still-running connections may need their I/O threads; a stopping process ends them anyway
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
