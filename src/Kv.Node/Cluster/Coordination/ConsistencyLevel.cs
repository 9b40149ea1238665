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
    /// <summary>Replica acknowledgements required at <paramref name="level"/> with <paramref name="replicas"/> natural replicas (never more than there are).</summary>
    public static int BlockFor(this ConsistencyLevel level, int replicas) => level switch
    {
        ConsistencyLevel.Any or ConsistencyLevel.One => Math.Min(1, replicas),
        ConsistencyLevel.Two => Math.Min(2, replicas),
        ConsistencyLevel.Quorum => replicas / 2 + 1,
        ConsistencyLevel.All => replicas,
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
