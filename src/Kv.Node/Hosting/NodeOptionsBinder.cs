using System.Globalization;
using System.Text;
using Kv.Node.Cluster.Hosting;
using Kv.Node.Resp;
using Microsoft.Extensions.Configuration;

namespace Kv.Node.Hosting;

/// <summary>
/// Builds <see cref="NodeOptions"/> from, in increasing precedence: defaults, the JSON file named by
/// <c>--config</c> (or KV_CONFIG), environment variables <c>KV_&lt;OPTION&gt;</c> (e.g. KV_RESP_PORT),
/// and the command line (<c>--resp-port 6380</c> or <c>--resp-port=6380</c>). Every option has one
/// kebab-case name used in all four places (JSON keys are the same names: { "resp-port": 6380 }).
/// Any invalid value raises <see cref="ConfigurationException"/> naming the option and what is accepted.
/// </summary>
public static class NodeOptionsBinder
{
    private sealed record Option(string Name, string Value, string Description, Action<NodeOptions, string> Apply);

    private static readonly Option[] Options =
    [
        new("data", "DIR", "Data directory (created if missing). Default ./data", (o, v) => o.DataDirectory = v),
        new("bind", "ADDRESS", "IP address to listen on. Default 127.0.0.1 (loopback only: set 0.0.0.0 to accept remote clients, and set a password)", (o, v) => o.Bind = v),
        new("resp-port", "PORT", "TCP port for RESP (Redis protocol) clients. Default 6379; 0 picks a free port", (o, v) => o.RespPort = (int)Integer("resp-port", v, 0, 65535)),
        new("password", "SECRET", "Require AUTH <password> (or HELLO 3 AUTH default <password>) before any other command. Default: none", (o, v) => o.Password = v.Length == 0 ? null : v),
        new("admin-commands", "local|all|none", "Who may run the admin commands (FLUSHALL, FLUSHDB, SHUTDOWN, SAVE, SCRUB, CLIENT KILL, SLOWLOG GET/LEN/RESET): local = clients on a loopback address (default), all = any authenticated client, none = nobody", (o, v) => o.AdminCommands = Enum<AdminCommandsMode>("admin-commands", v)),
        new("max-clients", "N", "Maximum simultaneous client connections; more are refused with an error. Default 10000", (o, v) => o.MaxClients = (int)Integer("max-clients", v, 1, 1_000_000)),
        new("max-bulk-length", "SIZE", "Largest argument (value) a client may send. Default 16mb", (o, v) => o.MaxBulkLength = Size("max-bulk-length", v, 1, 512L << 20)),
        new("max-multibulk-length", "N", "Most arguments in one request. Default 1048576", (o, v) => o.MaxMultibulkLength = (int)Integer("max-multibulk-length", v, 1, int.MaxValue)),
        new("max-inline-length", "SIZE", "Longest inline (telnet-style) request line. Default 64kb", (o, v) => o.MaxInlineLength = (int)Size("max-inline-length", v, 16, 16L << 20)),
        new("max-request-bytes", "SIZE", "Largest whole request, all arguments together. Default 64mb", (o, v) => o.MaxRequestBytes = Size("max-request-bytes", v, 1024, 2L << 30)),
        new("output-buffer-limit", "SIZE", "Unread reply bytes after which a client is disconnected. Default 64mb", (o, v) => o.OutputBufferLimit = Size("output-buffer-limit", v, 64 * 1024, 16L << 30)),
        new("idle-timeout", "SECONDS", "Close a client idle this long; 0 = never (default)", (o, v) => o.IdleTimeout = Seconds("idle-timeout", v)),
        new("request-timeout", "SECONDS", "A request must arrive completely within this time once it started; 0 = no limit. Default 30", (o, v) => o.RequestTimeout = Seconds("request-timeout", v)),
        new("slowlog-log-slower-than", "MICROSECONDS", "SLOWLOG logs commands whose execution took at least this long; 0 logs every command, -1 none. Default 10000", (o, v) => o.SlowlogLogSlowerThan = Integer("slowlog-log-slower-than", v, -1, long.MaxValue)),
        new("slowlog-max-len", "N", "Entries SLOWLOG keeps; the oldest are dropped first. Default 128", (o, v) => o.SlowlogMaxLength = (int)Integer("slowlog-max-len", v, 0, 1_000_000)),
        new("shutdown-timeout", "SECONDS", "How long shutdown waits for in-flight requests. Default 10", (o, v) => o.ShutdownTimeout = Seconds("shutdown-timeout", v)),
        new("sync", "always|periodic", "always: a write is acknowledged after fsync (group commit, default); periodic: fsync every sync-interval-ms (faster, may lose the last interval on power loss)", (o, v) => o.Sync = OneOf("sync", v, "always", "periodic")),
        new("sync-interval-ms", "MS", "fsync period in periodic mode. Default 100", (o, v) => o.SyncInterval = TimeSpan.FromMilliseconds(Integer("sync-interval-ms", v, 1, 60_000))),
        new("memtable-size", "SIZE", "Memtable size before it is flushed to an SSTable. Default 64mb", (o, v) => o.MemtableSizeBytes = Size("memtable-size", v, 1 << 20, 4L << 30)),
        new("memtable-huge-pages", "true|false", "Ask Linux for transparent huge pages for the memtable's arena and index: fewer TLB misses, 10-25% faster gets from a large memtable (the kernel's transparent_hugepage setting decides). Default true", (o, v) => o.MemtableHugePages = Bool("memtable-huge-pages", v)),
        new("block-cache-size", "SIZE", "Block cache for SSTable reads. Default 256mb", (o, v) => o.BlockCacheBytes = Size("block-cache-size", v, 0, 1L << 40)),
        new("max-open-tables", "N", "SSTables kept open at once (file handles, index and filter memory); least recently used are closed. Default 0 = all", (o, v) => o.MaxOpenTables = (int)Integer("max-open-tables", v, 0, 1_000_000)),
        new("direct-io", "true|false", "Write the WAL with O_DIRECT where the file system allows it (buffered + fdatasync otherwise). Default true", (o, v) => o.DirectIO = Bool("direct-io", v)),
        new("wal-preallocate", "SIZE", "Keep the WAL file written with zeros this far ahead of its appends, so each fsync commits only data, not the file's growth (capped at memtable-size); 0 = off. Default 4mb", (o, v) => o.WalPreallocateBytes = Size("wal-preallocate", v, 0, 1L << 30)),
        new("prepopulate-block-cache", "true|false", "Flushes put the blocks they write into the block cache, so recently written keys stay cache hits after their memtable is flushed; turn off when recent writes are rarely read. Default true", (o, v) => o.PrepopulateBlockCache = Bool("prepopulate-block-cache", v)),
        new("flush-pacing", "true|false", "A memtable flush that no writer waits for pauses 1 ms every 64 entries while requests are being served, so the reads after a burst of writes keep the CPU; it runs at full speed while writes come in, once a writer waits, and when the next memtable is half full (epoll socket engine only). Default true", (o, v) => o.FlushPacing = Bool("flush-pacing", v)),
        new("inline-completions", "true|false", "Run requests on the I/O thread that received them instead of the thread pool: about half the CPU per GET; a slow command then occupies that I/O thread (with socket-engine runtime it also delays the other clients tied to it). Default true", (o, v) => o.InlineCompletions = Bool("inline-completions", v)),
        new("io-threads", "N", "Socket I/O threads, which also run the requests when inline-completions is on; fewer suit nodes sharing a machine. Default 0 = one per core", (o, v) => o.IoThreads = (int)Integer("io-threads", v, 0, 1024)),
        new("socket-engine", "epoll|runtime", "Who serves client sockets: epoll = the node's own loop, whose io-threads share one epoll set so any idle thread takes any ready client (default; Linux x86-64 only); runtime = .NET's sockets, each client tied to one I/O thread (used elsewhere whatever this says)", (o, v) => o.SocketEngine = Enum<SocketEngine>("socket-engine", v)),
        new("node-id", "ID", "Cluster: this node's stable identity. Default: generated once, kept in <data>/cluster/node-id", (o, v) => o.Cluster.NodeId = v.Length == 0 ? null : v),
        new("peer-port", "PORT", "Cluster: internode (gossip and replica) port; setting it makes this node a cluster member. Default 0 = single node", (o, v) => o.Cluster.PeerPort = (int)Integer("peer-port", v, 0, 65535)),
        new("peer-host", "ADDRESS", "Cluster: IP address peers reach this node on (and the internode listen address). Default 127.0.0.1", (o, v) => o.Cluster.PeerHost = v),
        new("seeds", "HOST:PORT,...", "Cluster: peer addresses of seed nodes to join through (a node may list itself)", (o, v) => o.Cluster.Seeds = ClusterOptionParsing.Seeds(v)),
        new("dc", "NAME", "Cluster: datacenter name. Default dc1", (o, v) => o.Cluster.Datacenter = v),
        new("rack", "NAME", "Cluster: rack name; replicas go to distinct racks where possible. Default rack1", (o, v) => o.Cluster.Rack = v),
        new("replication-factor", "N", "Cluster: replicas of every key. Default 3", (o, v) => o.Cluster.ReplicationFactor = (int)Integer("replication-factor", v, 1, 255)),
        new("read-consistency", "ONE|TWO|QUORUM|ALL", "Cluster: default read consistency of connections (per connection: see docs/cluster.md). Default QUORUM", (o, v) => o.Cluster.ReadConsistency = ClusterOptionParsing.Consistency("read-consistency", v, allowAny: false)),
        new("write-consistency", "ANY|ONE|TWO|QUORUM|ALL", "Cluster: default write consistency of connections. Default QUORUM", (o, v) => o.Cluster.WriteConsistency = ClusterOptionParsing.Consistency("write-consistency", v, allowAny: true)),
        new("hint-window", "SECONDS", "Cluster: a replica down longer than this gets no more hints. Default 10800 (3 h)", (o, v) => o.Cluster.HintWindow = Seconds("hint-window", v)),
        new("sloppy-quorum", "true|false", "Cluster: a write for a replica that is down goes to a fallback node, whose durable hint counts toward ONE/TWO/QUORUM (not ALL); writes stay available with most replicas down, reads may miss them until hints are delivered. Default false (strict quorum)", (o, v) => o.Cluster.SloppyQuorum = Bool("sloppy-quorum", v)),
        new("replica-batching", "true|false", "Cluster: the replica writes of one burst of pipelined client requests go to each replica as one message and one engine write, and its reads as one message. Default true", (o, v) => o.Cluster.BatchReplicaRequests = Bool("replica-batching", v)),
        new("log-level", "LEVEL", "Trace, Debug, Information (default), Warning, Error, Critical or None", (o, v) => o.LogLevel = OneOf("log-level", v, "Trace", "Debug", "Information", "Warning", "Error", "Critical", "None")),
    ];

    /// <summary>Parses arguments and the other sources. Returns null when --help was asked (the help was written).</summary>
    public static NodeOptions? Bind(string[] args, TextWriter output, IDictionary<string, string?>? environment = null)
    {
        var cli = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        string? configFile = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                output.Write(Help());
                return null;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                throw new ConfigurationException($"unexpected argument '{arg}': options look like --name value (see --help)");
            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            if (name != "config" && Array.Find(Options, o => o.Name == name) is null)
                throw new ConfigurationException($"unknown option --{name} (see --help for the options)");
            if (value is null)
            {
                if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
                else if (name == "direct-io") value = "true";
                else throw new ConfigurationException($"option --{name} needs a value");
            }
            if (name == "config") configFile = value;
            else cli[name] = value;
        }

        var env = environment ?? ReadEnvironment();
        var fromEnv = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var option in Options)
        {
            if (env.TryGetValue(EnvironmentName(option.Name), out var v) && v is not null) fromEnv[option.Name] = v;
        }
        if (configFile is null && env.TryGetValue("KV_CONFIG", out var envConfig) && !string.IsNullOrEmpty(envConfig)) configFile = envConfig;

        var builder = new ConfigurationBuilder();
        if (configFile is not null)
        {
            if (!File.Exists(configFile)) throw new ConfigurationException($"config file '{configFile}' does not exist");
            builder.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        builder.AddInMemoryCollection(fromEnv);
        builder.AddInMemoryCollection(cli);
        IConfiguration configuration;
        try
        {
            configuration = builder.Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new ConfigurationException($"config file '{configFile}' is not valid JSON: {e.InnerException?.Message ?? e.Message}");
        }

        var known = new HashSet<string>(Options.Select(o => o.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var section in configuration.GetChildren())
        {
            if (!known.Contains(section.Key))
                throw new ConfigurationException($"unknown setting '{section.Key}' in config file '{configFile}' (see --help for the names)");
        }
        var options = new NodeOptions();
        foreach (var option in Options)
        {
            var value = configuration[option.Name];
            if (value is not null) option.Apply(options, value);
        }
        return options;
    }

    public static string EnvironmentName(string option) => "KV_" + option.ToUpperInvariant().Replace('-', '_');

    private static Dictionary<string, string?> ReadEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && key.StartsWith("KV_", StringComparison.Ordinal)) result[key] = entry.Value as string;
        }
        return result;
    }

    public static string Help()
    {
        var text = new StringBuilder();
        text.AppendLine("kv-node: a KvStore database node speaking the Redis protocol (RESP2/RESP3).");
        text.AppendLine();
        text.AppendLine("Usage: kv-node [--data DIR] [--resp-port PORT] [options]");
        text.AppendLine();
        text.AppendLine("Every option can also be set in a JSON file (--config FILE, keys are the option names,");
        text.AppendLine("e.g. { \"resp-port\": 6380 }) or an environment variable KV_<NAME> (e.g. KV_RESP_PORT=6380).");
        text.AppendLine("Precedence: command line > environment > config file > default. SIZE accepts kb, mb, gb suffixes.");
        text.AppendLine();
        text.AppendLine("Options:");
        // The description column starts two spaces past the longest option, so no option runs into its text.
        var width = Options.Max(o => Label(o).Length) + 2;
        text.AppendLine("  --config FILE".PadRight(width) + "JSON configuration file (env KV_CONFIG)");
        foreach (var option in Options) text.Append(Label(option).PadRight(width)).AppendLine(option.Description);
        text.AppendLine("  --help".PadRight(width) + "Show this help");
        text.AppendLine();
        text.AppendLine("Signals: SIGINT/SIGTERM stop the node gracefully (stop accepting, finish in-flight requests, flush, close).");
        text.AppendLine("Exit codes: 0 clean stop, 1 fatal runtime error, 2 invalid configuration.");
        return text.ToString();
    }

    private static string Label(Option option) => "  --" + option.Name + " " + option.Value;

    private static long Integer(string name, string value, long min, long max)
    {
        if (!long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
            throw new ConfigurationException($"{name}: '{value}' is not an integer between {min} and {max}");
        return n;
    }

    private static long Size(string name, string value, long min, long max)
    {
        var v = value.Trim().ToLowerInvariant();
        long unit = 1;
        foreach (var (suffix, factor) in new[] { ("gb", 1L << 30), ("mb", 1L << 20), ("kb", 1L << 10), ("g", 1L << 30), ("m", 1L << 20), ("k", 1L << 10), ("b", 1L) })
        {
            if (v.EndsWith(suffix, StringComparison.Ordinal))
            {
                unit = factor;
                v = v[..^suffix.Length];
                break;
            }
        }
        if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > max / unit || n * unit < min)
            throw new ConfigurationException($"{name}: '{value}' is not a size between {min} and {max} bytes (e.g. 65536, 64kb, 16mb, 1gb)");
        return n * unit;
    }

    private static TimeSpan Seconds(string name, string value)
    {
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || s < 0 || s > 86_400 * 365)
            throw new ConfigurationException($"{name}: '{value}' is not a number of seconds (0 or more, e.g. 30 or 0.5)");
        return TimeSpan.FromSeconds(s);
    }

    private static bool Bool(string name, string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "yes" or "1" or "on" => true,
        "false" or "no" or "0" or "off" => false,
        _ => throw new ConfigurationException($"{name}: '{value}' is not true or false"),
    };

    private static string OneOf(string name, string value, params string[] allowed)
    {
        foreach (var a in allowed)
        {
            if (string.Equals(a, value.Trim(), StringComparison.OrdinalIgnoreCase)) return a;
        }
        throw new ConfigurationException($"{name}: '{value}' is not one of {string.Join(", ", allowed)}");
    }

    private static T Enum<T>(string name, string value) where T : struct, System.Enum
    {
        if (System.Enum.TryParse<T>(value.Trim(), ignoreCase: true, out var result) && System.Enum.IsDefined(result)) return result;
        throw new ConfigurationException($"{name}: '{value}' is not one of {string.Join(", ", System.Enum.GetNames<T>()).ToLowerInvariant()}");
    }
}
