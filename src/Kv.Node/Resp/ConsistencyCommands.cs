using System.Text;
using Kv.Node.Cluster.Coordination;

namespace Kv.Node.Resp;

/// <summary>
/// CONSISTENCY: a connection's read and write consistency levels on a cluster node (Cassandra's
/// per-session CONSISTENCY, kv-node's own command: Redis has no equivalent).
/// <code>
/// CONSISTENCY                         -> [read, LEVEL, write, LEVEL]
/// CONSISTENCY level                   -> sets both (ANY is write-only: reads then use ONE)
/// CONSISTENCY READ level [WRITE level] / CONSISTENCY WRITE level [READ level]
/// </code>
/// Levels: ANY, ONE, TWO, QUORUM, ALL. The choice lasts for the connection; new connections start at the
/// node's --read-consistency / --write-consistency.
/// </summary>
internal static class ConsistencyCommands
{
    public static IEnumerable<CommandDefinition> Definitions =>
    [
        new("consistency", -1, CommandFlags.Fast, Consistency, "connection",
            "Shows or sets this connection's read and write consistency levels (ANY, ONE, TWO, QUORUM, ALL) on a cluster node."),
    ];

    private static ValueTask Consistency(CommandContext c)
    {
        if (c.Keyspace is not ClusterKeyspace cluster)
        {
            c.Reply.WriteError("ERR CONSISTENCY needs a cluster node: this node runs alone (start it with --peer-port to join a cluster)");
            return default;
        }
        var args = c.Request.Count - 1;
        if (args == 0)
        {
            c.Reply.WriteArrayHeader(4);
            c.Reply.WriteBulk("read");
            c.Reply.WriteBulk(cluster.ReadLevel.Name());
            c.Reply.WriteBulk("write");
            c.Reply.WriteBulk(cluster.WriteLevel.Name());
            return default;
        }
        var read = cluster.ReadLevel;
        var write = cluster.WriteLevel;
        if (args == 1)
        {
            if (!Parse(c, 1, out write)) return default;
            read = write == ConsistencyLevel.Any ? ConsistencyLevel.One : write;
        }
        else if (args % 2 == 0)
        {
            for (var i = 1; i < c.Request.Count; i += 2)
            {
                var which = Encoding.ASCII.GetString(c.Request[i]);
                if (which.Equals("READ", StringComparison.OrdinalIgnoreCase))
                {
                    if (!Parse(c, i + 1, out read)) return default;
                    if (read == ConsistencyLevel.Any)
                    {
                        c.Reply.WriteError("ERR ANY is a write level: a read needs at least ONE replica");
                        return default;
                    }
                }
                else if (which.Equals("WRITE", StringComparison.OrdinalIgnoreCase))
                {
                    if (!Parse(c, i + 1, out write)) return default;
                }
                else
                {
                    c.Reply.WriteError("ERR syntax error: expected CONSISTENCY [level] or CONSISTENCY READ level WRITE level");
                    return default;
                }
            }
        }
        else
        {
            c.Reply.WriteError("ERR syntax error: expected CONSISTENCY [level] or CONSISTENCY READ level WRITE level");
            return default;
        }
        c.Keyspace = cluster.WithConsistency(read, write);
        c.Reply.WriteOk();
        return default;
    }

    private static bool Parse(CommandContext c, int index, out ConsistencyLevel level)
    {
        if (ConsistencyLevels.TryParse(Encoding.ASCII.GetString(c.Request[index]), out level)) return true;
        c.Reply.WriteError("ERR unknown consistency level '" + Encoding.UTF8.GetString(c.Request[index]) + "': use ANY, ONE, TWO, QUORUM or ALL");
        return false;
    }
}
