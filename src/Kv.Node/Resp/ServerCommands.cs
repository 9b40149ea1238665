using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Kv.Node.Resp;

/// <summary>DBSIZE, INFO, CONFIG GET, FLUSHALL, FLUSHDB, SHUTDOWN, TIME, MEMORY USAGE, SLOWLOG.</summary>
internal static class ServerCommands
{
    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("dbsize", 1, CommandFlags.ReadOnly | CommandFlags.Fast, DbSize, "server", "Returns an estimate of the number of keys (see docs/protocol.md)."),
        new("info", -1, CommandFlags.None, Info, "server", "Returns information and statistics about the server."),
        new("config", -2, CommandFlags.None, Config, "server", "A container for server configuration commands (GET, and RESETSTAT for admins; settings are fixed at startup)."),
        new("flushall", -1, CommandFlags.Write | CommandFlags.Admin, FlushAll, "server", "Removes all keys (admin command)."),
        new("flushdb", -1, CommandFlags.Write | CommandFlags.Admin, FlushAll, "server", "Removes all keys of database 0, which is all keys (admin command)."),
        new("shutdown", -1, CommandFlags.Admin, Shutdown, "server", "Stops the node gracefully (admin command)."),
        new("time", 1, CommandFlags.Fast, Time, "server", "Returns the server time."),
        new("memory", -2, CommandFlags.ReadOnly, Memory, "server", "A container for memory diagnostics commands (USAGE: the bytes a key's entry takes in memory)."),
        new("slowlog", -2, CommandFlags.None, Slowlog, "server", "A container for slow log commands (GET, LEN and RESET are admin commands)."),
    ];

    private static ValueTask DbSize(CommandContext c)
    {
        c.Reply.WriteInteger(c.Keyspace.EstimateKeyCount());
        return default;
    }

    private static ValueTask Time(CommandContext c)
    {
        var now = c.Server.Time.GetUtcNow();
        var micros = (now - DateTimeOffset.UnixEpoch).Ticks / 10;
        c.Reply.WriteArrayHeader(2);
        c.Reply.WriteBulk((micros / 1_000_000).ToString(CultureInfo.InvariantCulture));
        c.Reply.WriteBulk((micros % 1_000_000).ToString(CultureInfo.InvariantCulture));
        return default;
    }

    /// <summary>MEMORY USAGE key [SAMPLES n]: the bytes the key's entry takes in a memtable (node, links, stored key,
    /// value and expiry: <see cref="Kv.Engine.Database.MemtableEntryBytes"/>), one replica's copy; nil for a missing key.
    /// SAMPLES is accepted and ignored (a string is measured exactly). MEMORY HELP; other subcommands are unknown.</summary>
    private static async ValueTask Memory(CommandContext c)
    {
        var r = c.Request;
        if (c.ArgIs(1, "USAGE"u8) && r.Count is 3 or 5)
        {
            if (r.Count == 5 && (!c.ArgIs(3, "SAMPLES"u8) || !c.TryGetInt64(4, out var samples) || samples < 0))
            {
                if (c.ArgIs(3, "SAMPLES"u8)) c.WriteNotInteger();
                else c.WriteSyntaxError();
                return;
            }
            c.Value.Reset();
            var key = r.Memory(2);
            var lookup = await c.Keyspace.GetAsync(key, c.Value).ConfigureAwait(false);
            if (!lookup.Found) c.Reply.WriteNull();
            else c.Reply.WriteInteger(Kv.Engine.Database.MemtableEntryBytes(Kv.Gossip.Ring.Partitioner.TokenPrefixLength + key.Length, c.Value.WrittenSpan.Length, lookup.ExpiresAtUnixMs));
        }
        else if (c.ArgIs(1, "USAGE"u8))
        {
            c.Reply.WriteError(r.Count < 3 ? "ERR wrong number of arguments for 'memory|usage' command"u8 : "ERR syntax error"u8);
        }
        else if (c.ArgIs(1, "HELP"u8) && r.Count == 2)
        {
            string[] help =
            [
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "USAGE <key> [SAMPLES <count>]",
                "    Return the bytes the key's entry takes in memory (one copy, as a memtable holds it; SAMPLES is ignored).",
                "HELP",
                "    Print this help.",
            ];
            c.WriteHelp(help);
        }
        else
        {
            c.Reply.WriteError($"ERR unknown subcommand '{c.ArgString(1)}'. Try MEMORY HELP.");
        }
    }

    /// <summary>SLOWLOG GET [count] (newest first; 10 by default, -1 for all), LEN, RESET, HELP; replies and errors as
    /// Redis 7's (see <see cref="Resp.Slowlog"/>). GET, LEN and RESET are admin commands, as in Redis: the log holds
    /// every client's arguments, values included, and RESET drops what every client logged.</summary>
    private static ValueTask Slowlog(CommandContext c)
    {
        var r = c.Request;
        var log = c.Server.Slowlog;
        if (!c.IsAdmin && (c.ArgIs(1, "GET"u8) || c.ArgIs(1, "LEN"u8) || c.ArgIs(1, "RESET"u8)))
        {
            c.WriteNotAdmin("slowlog|" + c.ArgString(1).ToLowerInvariant());
            return default;
        }
        if (c.ArgIs(1, "GET"u8) && r.Count <= 3)
        {
            long count = 10;
            if (r.Count == 3 && (!c.TryGetInt64(2, out count) || count < -1))
            {
                c.Reply.WriteError("ERR count should be greater than or equal to -1"u8);
                return default;
            }
            var entries = log.Newest(count == -1 ? long.MaxValue : count);
            c.Reply.WriteArrayHeader(entries.Length);
            foreach (var entry in entries)
            {
                c.Reply.WriteArrayHeader(6);
                c.Reply.WriteInteger(entry.Id);
                c.Reply.WriteInteger(entry.UnixTimeSeconds);
                c.Reply.WriteInteger(entry.DurationMicros);
                c.Reply.WriteArrayHeader(entry.Arguments.Length);
                foreach (var argument in entry.Arguments) c.Reply.WriteBulk(argument);
                c.Reply.WriteBulk(entry.ClientAddress);
                c.Reply.WriteBulk(entry.ClientName);
            }
        }
        else if (c.ArgIs(1, "GET"u8))
        {
            // What Redis answers here: the arity of slowlog|get (-2) lets the request through to the subcommand's own check.
            c.Reply.WriteError($"ERR unknown subcommand or wrong number of arguments for '{c.ArgString(1)}'. Try SLOWLOG HELP.");
        }
        else if (c.ArgIs(1, "LEN"u8) && r.Count == 2)
        {
            c.Reply.WriteInteger(log.Count);
        }
        else if (c.ArgIs(1, "RESET"u8) && r.Count == 2)
        {
            log.Reset();
            c.Reply.WriteOk();
        }
        else if (c.ArgIs(1, "HELP"u8) && r.Count == 2)
        {
            string[] help =
            [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Print this help.",
            ];
            c.WriteHelp(help);
        }
        else if (c.ArgIs(1, "LEN"u8) || c.ArgIs(1, "RESET"u8) || c.ArgIs(1, "HELP"u8))
        {
            c.Reply.WriteError($"ERR wrong number of arguments for 'slowlog|{c.ArgString(1).ToLowerInvariant()}' command");
        }
        else
        {
            c.Reply.WriteError($"ERR unknown subcommand '{c.ArgString(1)}'. Try SLOWLOG HELP.");
        }
        return default;
    }

    private static async ValueTask FlushAll(CommandContext c)
    {
        for (var i = 1; i < c.Request.Count; i++)
        {
            if (!c.ArgIs(i, "SYNC"u8) && !c.ArgIs(i, "ASYNC"u8))
            {
                c.WriteSyntaxError();
                return;
            }
        }
        await c.Keyspace.DeleteAllAsync().ConfigureAwait(false);
        c.Reply.WriteOk();
    }

    private static ValueTask Shutdown(CommandContext c)
    {
        for (var i = 1; i < c.Request.Count; i++)
        {
            if (c.ArgIs(i, "ABORT"u8))
            {
                c.Reply.WriteError("ERR SHUTDOWN ABORT is not supported: kv-node shuts down at once (gracefully)"u8);
                return default;
            }
            if (!c.ArgIs(i, "NOSAVE"u8) && !c.ArgIs(i, "SAVE"u8) && !c.ArgIs(i, "NOW"u8) && !c.ArgIs(i, "FORCE"u8))
            {
                c.WriteSyntaxError();
                return default;
            }
        }
        // Like Redis: no reply on success, the connection closes as the node stops. Every write is already durable.
        c.Server.Logger.LogShutdownRequest(c.Id);
        c.CloseAfterReply = true;
        c.Server.RequestShutdown();
        return default;
    }

    private static ValueTask Config(CommandContext c)
    {
        var r = c.Request;
        if (c.ArgIs(1, "GET"u8))
        {
            if (r.Count < 3)
            {
                c.Reply.WriteError("ERR wrong number of arguments for 'config|get' command"u8);
                return default;
            }
            var settings = ConfigSettings(c.Server);
            var matches = new List<KeyValuePair<string, string>>();
            foreach (var setting in settings)
            {
                for (var i = 2; i < r.Count; i++)
                {
                    if (GlobPattern.IsMatch(r[i], Encoding.ASCII.GetBytes(setting.Key), ignoreCase: true))
                    {
                        matches.Add(setting);
                        break;
                    }
                }
            }
            c.Reply.WriteMapHeader(matches.Count);
            foreach (var (key, value) in matches)
            {
                c.Reply.WriteBulk(key);
                c.Reply.WriteBulk(value);
            }
        }
        else if (c.ArgIs(1, "SET"u8))
        {
            c.Reply.WriteError("ERR CONFIG SET is not supported by kv-node: settings are fixed at startup (see docs/operations.md)"u8);
        }
        else if (c.ArgIs(1, "RESETSTAT"u8))
        {
            if (c.Request.Count != 2)
            {
                c.Reply.WriteError("ERR wrong number of arguments for 'config|resetstat' command"u8);
                return default;
            }
            // Admin, as SLOWLOG RESET: it drops what every client's monitoring reads.
            if (!c.IsAdmin)
            {
                c.WriteNotAdmin("config|resetstat");
                return default;
            }
            c.Server.Stats.Reset();
            c.Server.CommandStats.Reset();
            c.Reply.WriteOk();
        }
        else if (c.ArgIs(1, "REWRITE"u8))
        {
            c.Reply.WriteError($"ERR CONFIG {c.ArgString(1).ToUpperInvariant()} is not supported by kv-node");
        }
        else
        {
            c.Reply.WriteError($"ERR unknown subcommand '{c.ArgString(1)}'. Try CONFIG HELP.");
        }
        return default;
    }

    /// <summary>The settings CONFIG GET reports, with Redis's names (what redis-benchmark and redis-cli ask for).</summary>
    private static List<KeyValuePair<string, string>> ConfigSettings(RespServer server)
    {
        var o = server.Options;
        string S(long v) => v.ToString(CultureInfo.InvariantCulture);
        return
        [
            new("bind", o.Bind),
            new("port", S(o.RespPort)),
            new("dir", Path.GetFullPath(o.DataDirectory)),
            new("databases", "1"),
            new("save", ""),
            new("appendonly", "yes"),
            new("appendfsync", o.Sync == "periodic" ? "everysec" : "always"),
            new("maxmemory", "0"),
            new("maxmemory-policy", "noeviction"),
            new("maxclients", S(o.MaxClients)),
            new("timeout", S((long)o.IdleTimeout.TotalSeconds)),
            new("proto-max-bulk-len", S(o.MaxBulkLength)),
            new("client-query-buffer-limit", S(o.MaxRequestBytes)),
            new("client-output-buffer-limit", $"normal {S(o.OutputBufferLimit)} 0 0"),
            new("cluster-enabled", "no"),
            new("protected-mode", o.Password is null ? "yes" : "no"),
            new("slowlog-log-slower-than", S(o.SlowlogLogSlowerThan)),
            new("slowlog-max-len", S(o.SlowlogMaxLength)),
        ];
    }

    private static ValueTask Info(CommandContext c)
    {
        var r = c.Request;
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < r.Count; i++) sections.Add(c.ArgString(i));
        var all = sections.Contains("all") || sections.Contains("everything");
        var defaults = sections.Count == 0 || sections.Contains("default") || all;
        bool Want(string name) => defaults || sections.Contains(name);
        bool WantNamed(string name) => all || sections.Contains(name); // not in the default set, as in Redis

        var s = c.Server;
        var text = new StringBuilder();
        if (Want("server"))
        {
            var uptime = (long)(s.Time.GetUtcNow() - s.StartedAt).TotalSeconds;
            text.Append("# Server\r\n")
                .Append("redis_version:").Append(ConnectionCommands.CompatibleRedisVersion).Append("\r\n")
                .Append("kv_node_version:").Append(typeof(RespServer).Assembly.GetName().Version).Append("\r\n")
                .Append("redis_mode:standalone\r\n")
                .Append("os:").Append(System.Runtime.InteropServices.RuntimeInformation.OSDescription).Append("\r\n")
                .Append("arch_bits:64\r\n")
                .Append("runtime:").Append(System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription).Append("\r\n")
                .Append("process_id:").Append(Environment.ProcessId).Append("\r\n")
                .Append("tcp_port:").Append(s.EndPoint?.Port ?? s.Options.RespPort).Append("\r\n")
                .Append("socket_engine:").Append(s.SocketEngineName).Append("\r\n")
                .Append("uptime_in_seconds:").Append(uptime).Append("\r\n")
                .Append("uptime_in_days:").Append(uptime / 86400).Append("\r\n")
                .Append("executable:").Append(Environment.ProcessPath).Append("\r\n\r\n");
        }
        if (Want("clients"))
        {
            text.Append("# Clients\r\n")
                .Append("connected_clients:").Append(s.ConnectedClients).Append("\r\n")
                .Append("maxclients:").Append(s.Options.MaxClients).Append("\r\n")
                .Append("blocked_clients:0\r\n\r\n");
        }
        if (Want("memory"))
        {
            var gc = GC.GetGCMemoryInfo();
            using var process = Process.GetCurrentProcess();
            text.Append("# Memory\r\n")
                .Append("used_memory:").Append(GC.GetTotalMemory(false)).Append("\r\n")
                .Append("used_memory_rss:").Append(process.WorkingSet64).Append("\r\n")
                .Append("used_memory_peak:").Append(process.PeakWorkingSet64).Append("\r\n")
                .Append("total_system_memory:").Append(gc.TotalAvailableMemoryBytes).Append("\r\n")
                .Append("maxmemory:0\r\nmaxmemory_policy:noeviction\r\n")
                .Append("gc_heap_size:").Append(gc.HeapSizeBytes).Append("\r\n")
                .Append("gc_allocated_bytes:").Append(GC.GetTotalAllocatedBytes()).Append("\r\n")
                .Append("gc_collections_gen0:").Append(GC.CollectionCount(0)).Append("\r\n")
                .Append("gc_collections_gen1:").Append(GC.CollectionCount(1)).Append("\r\n")
                .Append("gc_collections_gen2:").Append(GC.CollectionCount(2)).Append("\r\n")
                .Append("gc_pause_total_ms:").Append((long)GC.GetTotalPauseDuration().TotalMilliseconds).Append("\r\n\r\n");
        }
        if (Want("persistence"))
        {
            text.Append("# Persistence\r\n")
                .Append("loading:0\r\n")
                .Append("aof_enabled:1\r\n")
                .Append("kv_sync:").Append(s.Options.Sync).Append("\r\n")
                .Append("rdb_bgsave_in_progress:0\r\n")
                .Append("aof_rewrite_in_progress:0\r\n");
            // SAVE writes engine checkpoints (docs/operations.md); 0 / none until the first since start.
            var last = s.Maintenance?.LastCheckpoint;
            text.Append("rdb_last_save_time:").Append(last?.CompletedAt.ToUnixTimeSeconds() ?? 0).Append("\r\n")
                .Append("kv_last_checkpoint:");
            if (last is null) text.Append("none");
            else text.Append("dir=").Append(last.Checkpoint.Directory).Append(",tables=").Append(last.Checkpoint.TableCount)
                     .Append(",bytes=").Append(last.Checkpoint.Bytes).Append(",linked=").Append(last.Checkpoint.LinkedFiles)
                     .Append(",copied=").Append(last.Checkpoint.CopiedFiles);
            text.Append("\r\n\r\n");
        }
        if (Want("stats"))
        {
            var st = s.Stats;
            text.Append("# Stats\r\n")
                .Append("total_connections_received:").Append(st.ConnectionsReceived).Append("\r\n")
                .Append("total_commands_processed:").Append(st.CommandsProcessed).Append("\r\n")
                .Append("rejected_connections:").Append(st.RejectedConnections).Append("\r\n")
                .Append("keyspace_hits:").Append(st.KeyspaceHits).Append("\r\n")
                .Append("keyspace_misses:").Append(st.KeyspaceMisses).Append("\r\n")
                .Append("total_error_replies_protocol:").Append(st.ProtocolErrors).Append("\r\n")
                .Append("client_output_buffer_limit_disconnections:").Append(st.OutputLimitDisconnects).Append("\r\n")
                .Append("client_timeout_disconnections:").Append(st.TimeoutDisconnects).Append("\r\n\r\n");
        }
        if (Want("replication"))
        {
            text.Append("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
        }
        if (Want("keyspace"))
        {
            text.Append("# Keyspace\r\n");
            var estimate = c.Keyspace.EstimateKeyspace();
            if (estimate.Keys > 0)
            {
                text.Append("db0:keys=").Append(estimate.Keys);
                if (estimate.Expiring is { } expiring) text.Append(",expires=").Append(expiring).Append(",avg_ttl=").Append(estimate.AverageTtlMs);
                text.Append("\r\n");
            }
            text.Append("\r\n");
        }
        if (WantNamed("commandstats"))
        {
            text.Append("# Commandstats\r\n");
            foreach (var command in s.Dispatcher.Table.All)
            {
                var t = s.CommandStats.Get(command);
                if (t.Calls == 0 && t.Rejected == 0 && t.Failed == 0) continue;
                var micros = (long)t.Time.TotalMicroseconds;
                text.Append("cmdstat_").Append(command.Name).Append(":calls=").Append(t.Calls)
                    .Append(",usec=").Append(micros)
                    .Append(",usec_per_call=").Append((t.Calls == 0 ? 0 : (double)micros / t.Calls).ToString("0.00", CultureInfo.InvariantCulture))
                    .Append(",rejected_calls=").Append(t.Rejected)
                    .Append(",failed_calls=").Append(t.Failed).Append("\r\n");
            }
            text.Append("\r\n");
        }
        if (Want("engine"))
        {
            text.Append("# Engine\r\n");
            foreach (var (key, value) in c.Keyspace.DescribeEngine()) text.Append(key).Append(':').Append(value).Append("\r\n");
            text.Append("\r\n");
        }
        if (Want("cluster"))
        {
            text.Append("# Cluster\r\ncluster_enabled:0\r\n\r\n");
        }
        if (Want("ring") && c.Keyspace is Cluster.Coordination.ClusterKeyspace { DescribeRing: { } describeRing })
        {
            text.Append("# Ring\r\n");
            foreach (var (key, value) in describeRing()) text.Append(key).Append(':').Append(value).Append("\r\n");
            text.Append("\r\n");
        }
        var result = text.ToString();
        c.Reply.WriteBulk(result.EndsWith("\r\n\r\n", StringComparison.Ordinal) ? result[..^2] : result);
        return default;
    }
}
