namespace Kv.Node.Cluster.Coordination;

/// <summary>How many replicas must answer before the coordinator answers the client.</summary>
public enum ConsistencyLevel
{
    /// <summary>Writes only: one replica acknowledged, or a hint was stored for one (the weakest guarantee).</summary>
    Any,
    One,
    Two,
    /// <summary>A majority of the replication factor: floor(N/2) + 1. The default.</summary>
    Quorum,
    All,
}

public static class ConsistencyLevels
{
    /// <summary>Replica acknowledgements required at <paramref name="level"/> under <paramref name="replicationFactor"/>.</summary>
    /// <remarks>Counted against the replication factor, not against the replicas the ring has now: on a ring with fewer
    /// nodes than the replication factor (a cluster still forming), QUORUM still means a majority of RF copies and the
    /// request is unavailable, rather than quietly acknowledged by fewer copies than the client asked for.</remarks>
    public static int BlockFor(this ConsistencyLevel level, int replicationFactor) => level switch
    {
        ConsistencyLevel.Any or ConsistencyLevel.One => 1,
        ConsistencyLevel.Two => 2,
        ConsistencyLevel.Quorum => replicationFactor / 2 + 1,
        ConsistencyLevel.All => replicationFactor,
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, null),
    };

    public static string Name(this ConsistencyLevel level) => level switch
    {
        ConsistencyLevel.Any => "ANY",
        ConsistencyLevel.One => "ONE",
        ConsistencyLevel.Two => "TWO",
        ConsistencyLevel.Quorum => "QUORUM",
        ConsistencyLevel.All => "ALL",
        _ => level.ToString(),
    };

    public static bool TryParse(ReadOnlySpan<char> text, out ConsistencyLevel level)
    {
        level = ConsistencyLevel.Quorum;
        if (text.Equals("ANY", StringComparison.OrdinalIgnoreCase)) level = ConsistencyLevel.Any;
        else if (text.Equals("ONE", StringComparison.OrdinalIgnoreCase)) level = ConsistencyLevel.One;
        else if (text.Equals("TWO", StringComparison.OrdinalIgnoreCase)) level = ConsistencyLevel.Two;
        else if (text.Equals("QUORUM", StringComparison.OrdinalIgnoreCase)) level = ConsistencyLevel.Quorum;
        else if (text.Equals("ALL", StringComparison.OrdinalIgnoreCase)) level = ConsistencyLevel.All;
        else return false;
        return true;
    }
}
