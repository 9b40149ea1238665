using Kv.Node.Cluster.Hosting;
using Kv.Node.Resp;

namespace Kv.Node.Hosting;

/// <summary>
/// Every setting of a node. Bound from (later wins) defaults, the JSON config file, KV_* environment
/// variables and the command line; see <see cref="NodeOptionsBinder"/> and docs/operations.md.
/// Immutable once the node has started.
/// </summary>
public sealed class NodeOptions
{
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Address the RESP listener binds; loopback by default so a fresh node is not exposed.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    public int RespPort { get; set; } = 6379;

    /// <summary>When set, clients must AUTH (or HELLO ... AUTH) before anything else.</summary>
    public string? Password { get; set; }

    public AdminCommandsMode AdminCommands { get; set; } = AdminCommandsMode.Local;

    public int MaxClients { get; set; } = 10_000;

    /// <summary>Largest argument (value) in bytes. 16 MiB: values live whole in the memtable and one WAL record.</summary>
    public long MaxBulkLength { get; set; } = 16L * 1024 * 1024;

    public int MaxMultibulkLength { get; set; } = 1024 * 1024;

    public int MaxInlineLength { get; set; } = 64 * 1024;

    /// <summary>Largest whole request (an MSET of several large values).</summary>
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Unsent reply bytes at which a client that does not read is disconnected.</summary>
    public long OutputBufferLimit { get; set; } = 64L * 1024 * 1024;

    /// <summary>Close connections idle this long; 0 = never (as Redis's "timeout 0").</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>A request started must be complete within this time (defeats byte-by-byte trickling).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>SLOWLOG logs commands whose execution took at least this many microseconds; 0 logs every command, a
    /// negative value turns the slow log off (Redis's slowlog-log-slower-than).</summary>
    public long SlowlogLogSlowerThan { get; set; } = 10_000;

    /// <summary>Entries the slow log keeps, the oldest dropped first; 0 keeps none (Redis's slowlog-max-len).</summary>
    public int SlowlogMaxLength { get; set; } = 128;

    /// <summary>"always": fsync before every acknowledgement (group commit); "periodic": fsync every <see cref="SyncInterval"/>.</summary>
    public string Sync { get; set; } = "always";

    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    public long MemtableSizeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Transparent huge pages for the memtable (<see cref="Kv.Engine.EngineOptions.MemtableHugePages"/>).</summary>
    public bool MemtableHugePages { get; set; } = true;

    public long BlockCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>SSTables kept open at once (the engine's table cache); 0 = every live table stays open.</summary>
    public int MaxOpenTables { get; set; }

    public bool DirectIO { get; set; } = true;

    /// <summary>How far ahead of its appends the WAL file is kept written with zeros (<see cref="Kv.Engine.EngineOptions.WalPreallocateBytes"/>).</summary>
    public long WalPreallocateBytes { get; set; } = Kv.Engine.EngineOptions.DefaultWalPreallocateBytes;

    /// <summary>Flushes put the blocks they write into the block cache (<see cref="Kv.Engine.EngineOptions.PrepopulateBlockCacheOnFlush"/>).</summary>
    public bool PrepopulateBlockCache { get; set; } = true;

    /// <summary>A flush that nothing waits for pauses while the socket I/O threads serve requests
    /// (<see cref="Kv.Engine.EngineOptions.ForegroundBusy"/>; the epoll socket engine only).</summary>
    public bool FlushPacing { get; set; } = true;

    /// <summary>
    /// Run a client's requests on the I/O thread that received them instead of handing each to the thread pool: one
    /// thread hop less per request. The epoll socket engine reads it per server; for the runtime's sockets it is
    /// process-wide (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS), applied by <see cref="Program"/> before the first
    /// socket exists, so in-process hosts (tests) on that engine ignore it.
    /// </summary>
    public bool InlineCompletions { get; set; } = true;

    /// <summary>
    /// Socket I/O threads: the epoll socket engine's threads for RESP clients, and the runtime's socket threads
    /// (DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT, process-wide) that serve internode messaging and, on the runtime
    /// engine, the clients too. 0 = one per core. With inline completions these threads run the requests, so this is
    /// how many requests run at once. Fewer suit nodes that share a machine (docs/protocol.md, "Threads").
    /// </summary>
    public int IoThreads { get; set; }

    /// <summary>
    /// Who serves RESP client sockets: the node's own epoll loop (<see cref="Resp.Net.EpollLoop"/>, whose
    /// <see cref="IoThreads"/> threads share one epoll set) or the runtime's sockets. Epoll where supported (Linux
    /// x86-64); elsewhere the runtime's sockets whatever this says. A cluster node's inbound peer connections are received
    /// through the same loop; its outbound ones (and their sends) use the runtime's sockets.
    /// </summary>
    public SocketEngine SocketEngine { get; set; } = SocketEngine.Epoll;

    public string LogLevel { get; set; } = "Information";

    /// <summary>Cluster membership and replication (--peer-port, --seeds, ...); a single node when PeerPort is 0.</summary>
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>Grace period for in-flight requests at shutdown.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>See <see cref="NodeOptions.SocketEngine"/>.</summary>
public enum SocketEngine
{
    Epoll,
    Runtime,
}
