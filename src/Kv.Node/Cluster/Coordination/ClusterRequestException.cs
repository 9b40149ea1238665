namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// A client request the coordinator could not complete at the requested consistency. <see cref="ErrorCode"/>
/// is the first word of the RESP error reply (<c>-UNAVAILABLE ...</c>, <c>-TIMEOUT ...</c>), the message says
/// how many replicas answered out of how many were required and what to do.
/// </summary>
public abstract class ClusterRequestException(string message) : Exception(message)
{
    public abstract string ErrorCode { get; }

    /// <summary>The RESP error line: code and message.</summary>
    public string RespError => ErrorCode + " " + Message;
}

/// <summary>Not attempted: fewer replicas are alive (as the failure detector sees them) than the level requires.</summary>
public sealed class UnavailableException(ConsistencyLevel level, string operation, int alive, int required, int replicas)
    : ClusterRequestException(Describe(level, operation, alive, required, replicas))
{
    private static string Describe(ConsistencyLevel level, string operation, int alive, int required, int replicas) => replicas < required
        ? $"{level.Name()} {operation} needs {required} replicas but the ring has only {replicas} for this key ({alive} up): too few nodes have joined for the replication factor; add nodes, wait for joining ones, or use a lower consistency level"
        : $"{level.Name()} {operation} needs {required} of {replicas} replicas but only {alive} are up; retry later or use a lower consistency level";

    public override string ErrorCode => "UNAVAILABLE";

    public int Alive { get; } = alive;

    public int Required { get; } = required;
}

/// <summary>Not attempted: this node has not learned the ring (which nodes hold which keys) from gossip yet.</summary>
public sealed class RingUnknownException()
    : ClusterRequestException("this node does not know the ring yet (it is still learning it from the other nodes after starting); retry in a few seconds, or connect to another node")
{
    public override string ErrorCode => "UNAVAILABLE";
}

/// <summary>Attempted, but too few replicas answered in time. A write may still have been applied on some replicas.</summary>
public sealed class ReplicaTimeoutException(ConsistencyLevel level, string operation, int acknowledged, int required, int replicas, string? detail)
    : ClusterRequestException($"{level.Name()} {operation}: {acknowledged} of {required} required replicas acknowledged ({replicas} replicas){(detail is null ? "" : "; " + detail)}")
{
    public override string ErrorCode => "TIMEOUT";

    public int Acknowledged { get; } = acknowledged;

    public int Required { get; } = required;
}

/// <summary>The request itself is not valid at this level (e.g. a read at ANY).</summary>
public sealed class InvalidConsistencyException(string message) : ClusterRequestException(message)
{
    public override string ErrorCode => "ERR";
}
