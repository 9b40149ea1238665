namespace Kv.Engine.Compaction;

/// <summary>How tables are merged (docs/compaction.md has the trade-off).</summary>
public enum CompactionStyle
{
    /// <summary>Levels of non-overlapping tables, each 10× the previous: low read and space amplification.</summary>
    Leveled,

    /// <summary>Similar-sized tables merged together: low write amplification, more space and read amplification.</summary>
    SizeTiered,
}
