using Version = Kv.Engine.Manifest.Version;

namespace Kv.Engine.Compaction;

/// <summary>Chooses the next compaction from a read-only <see cref="Version"/>; null when none is due.</summary>
public interface ICompactionPicker
{
    /// <param name="compactPointer">where the last compaction of a level ended (null: none yet).</param>
    CompactionPlan? Pick(Version version, Func<int, byte[]?> compactPointer);

    /// <summary>How urgent compaction is: &gt;= 1 means one is due (for stats and stall decisions).</summary>
    double MaxScore(Version version);
}
