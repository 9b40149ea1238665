using System.Runtime.CompilerServices;
using Kv.Engine;
using Kv.Node.Cluster.Hosting;
using Kv.Node.Cluster.Replica;
using Kv.Node.Resp;
using Kv.Node.Resp.Net;
using Kv.Node.Storage;
using Kv.Node.Time;
using Microsoft.Extensions.Logging;

namespace Kv.Node.Hosting;

/// <summary>
/// One running node: the data directory, the clock, the engine, the keyspace over it and the RESP
/// front end. Start it, then stop it exactly once (the process host does this on SIGINT/SIGTERM or SHUTDOWN).
/// </summary>
/// <remarks>
/// Layout of the data directory: <c>hlc</c> (the clock's high-water mark, docs/formats/hlc.md) and
/// <c>engine/</c> (the storage engine's files). Shutdown order: stop the front end (no new requests,
/// in-flight ones finish), flush the engine's memtable, close the engine.
/// </remarks>
public sealed class NodeHost : IAsyncDisposable
{
    private readonly ILogger _logger;
    private int _stopped;

    private NodeHost(NodeOptions options, Database database, EngineKeyspace keyspace, RespServer server, ILogger logger)
    {
        Options = options;
        Database = database;
        Keyspace = keyspace;
        Server = server;
        _logger = logger;
    }

    public NodeOptions Options { get; }

    /// <summary>The cluster membership and coordinator when <c>--peer-port</c> is set; null for a single node.</summary>
    public ClusterNode? Cluster { get; private init; }

    /// <summary>The epoll loop serving the node's sockets (clients and inbound peers); null with the runtime's sockets.</summary>
    internal EpollLoop? SocketLoop { get; private init; }

    public Database Database { get; }

    public EngineKeyspace Keyspace { get; }

    public RespServer Server { get; }

    public static async Task<NodeHost> StartAsync(NodeOptions options, ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var logger = loggerFactory.CreateLogger("Kv.Node");
        var directory = Path.GetFullPath(options.DataDirectory);
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"data: cannot create the data directory '{directory}': {e.Message}");
        }

        HybridLogicalClock clock;
        try
        {
            clock = new HybridLogicalClock(time, new FileClockHighWaterMark(directory), logger: logger);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new ConfigurationException($"data: cannot use the clock file in '{directory}': {e.Message}");
        }

        var engineOptions = new EngineOptions
        {
            SyncMode = options.Sync == "periodic" ? Engine.Wal.WalSyncMode.Periodic : Engine.Wal.WalSyncMode.PerWrite,
            PeriodicSyncInterval = options.SyncInterval,
            UseDirectIO = options.DirectIO,
            WalPreallocateBytes = options.WalPreallocateBytes,
            PrepopulateBlockCacheOnFlush = options.PrepopulateBlockCache,
            MemtableSizeBytes = options.MemtableSizeBytes,
            MemtableHugePages = options.MemtableHugePages,
            BlockCacheBytes = options.BlockCacheBytes,
            MaxOpenTables = options.MaxOpenTables,
            TimeProvider = time,
            LoggerFactory = loggerFactory,
        };
        // The flush leaves the CPU to requests while it can (docs/engine.md, "Flush pacing"); the loop starts below.
        var requestThreads = new StrongBox<EpollLoop?>();
        if (options.FlushPacing) engineOptions.ForegroundBusy = () => requestThreads.Value?.AnyThreadBusy ?? false;
        Database database;
        try
        {
            database = Database.Open(Path.Combine(directory, "engine"), engineOptions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"data: cannot open the engine in '{directory}': {e.Message}");
        }
        var keyspace = new EngineKeyspace(database, clock, time);
        ClusterNode? cluster = null;
        IKeyspace served = keyspace;
        // One epoll loop for the node's sockets: RESP clients and inbound peer connections (docs/protocol.md, "Threads").
        var loop = EpollLoop.TryStart(options, loggerFactory.CreateLogger("Kv.Node.Net"));
        requestThreads.Value = loop;
        RespServer server;
        try
        {
            if (options.Cluster.Enabled)
            {
                // A cluster member serves every key through the coordinator; its replica data lives in the same engine.
                cluster = await ClusterNode.StartAsync(options.Cluster, directory, new EngineReplicaStore(database), clock,
                    $"{options.Bind}:{options.RespPort}", loop, time, loggerFactory).ConfigureAwait(false);
                served = cluster.Keyspace;
                logger.LogInformation("cluster member {Node} on peer port {Peer} (rf {Rf}, seeds {Seeds})", cluster.NodeId, cluster.PeerAddress, options.Cluster.ReplicationFactor, string.Join(",", options.Cluster.Seeds));
            }
            server = new RespServer(options, served, time, loggerFactory) { Maintenance = new EngineMaintenance(database, directory, time), SharedLoop = loop };
            await server.StartAsync().ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            if (cluster is not null) await cluster.DisposeAsync().ConfigureAwait(false);
            loop?.Dispose();
            database.Dispose();
            throw new ConfigurationException($"peer-port: cannot listen on {options.Cluster.PeerHost}:{options.Cluster.PeerPort}: {e.Message}");
        }
        catch
        {
            if (cluster is not null) await cluster.DisposeAsync().ConfigureAwait(false);
            loop?.Dispose();
            database.Dispose();
            throw;
        }
        logger.LogInformation("kv-node serving data in {Directory} (sync: {Sync})", directory, options.Sync);
        return new NodeHost(options, database, keyspace, server, logger) { Cluster = cluster, SocketLoop = loop };
    }

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _logger.LogInformation("stopping: no new connections, finishing in-flight requests");
        await Server.StopAsync().ConfigureAwait(false);
        if (Cluster is not null) await Cluster.DisposeAsync().ConfigureAwait(false);
        SocketLoop?.Dispose();
        try
        {
            await Keyspace.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "flushing the memtable at shutdown failed; the write-ahead log still holds every acknowledged write");
        }
        Database.Dispose();
        _logger.LogInformation("stopped");
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
