namespace Kv.Engine.Sstable;

/// <summary>What one point read touched in the tables: summed per read, then added to the database's totals once
/// (a mutable struct on the reader's stack, so counting costs no shared-memory traffic per table).</summary>
internal struct PointReadCounters
{
    /// <summary>Tables whose key range and timestamp range could not rule the key out.</summary>
    public int TablesConsidered;

    /// <summary>Tables skipped because their max timestamp is below the version already found (early stop).</summary>
    public int TablesSkippedByTimestamp;

    /// <summary>Bloom filter probes.</summary>
    public int FilterChecks;

    /// <summary>Probes where the filter ruled the key out (a table not read at all: the filter was useful).</summary>
    public int FilterNegatives;

    /// <summary>Probes where the filter let the key through but the table did not hold it.</summary>
    public int FilterFalsePositives;

    /// <summary>Data blocks loaded (from the block cache or the file).</summary>
    public int BlocksRead;
}
