using Kv.Engine.Manifest;

namespace Kv.Engine.Compaction;

/// <summary>
/// What a picker chose: the tables of <see cref="Level"/> and of <see cref="OutputLevel"/> to merge, where the
/// result goes, and the compaction pointer to record for <see cref="Level"/>. Immutable.
/// </summary>
public sealed class CompactionPlan
{
    public CompactionPlan(int level, int outputLevel, IReadOnlyList<FileMetadata> inputs, IReadOnlyList<FileMetadata> outputLevelInputs,
                          byte[]? compactPointer, bool splitOutput, string reason)
    {
        Level = level;
        OutputLevel = outputLevel;
        Inputs = inputs;
        OutputLevelInputs = outputLevelInputs;
        CompactPointer = compactPointer;
        SplitOutput = splitOutput;
        Reason = reason;
    }

    public int Level { get; }
    public int OutputLevel { get; }
    public IReadOnlyList<FileMetadata> Inputs { get; }

    /// <summary>Tables of <see cref="OutputLevel"/> that overlap <see cref="Inputs"/> (empty when Level == OutputLevel).</summary>
    public IReadOnlyList<FileMetadata> OutputLevelInputs { get; }

    public byte[]? CompactPointer { get; }

    /// <summary>True: cut the output at the target file size (leveled). False: one output table (size-tiered runs).</summary>
    public bool SplitOutput { get; }

    public string Reason { get; }

    public long InputBytes
    {
        get
        {
            long total = 0;
            foreach (var f in Inputs) total += f.Size;
            foreach (var f in OutputLevelInputs) total += f.Size;
            return total;
        }
    }

    /// <summary>True if table <paramref name="number"/> is an input.</summary>
    public bool IsInput(ulong number)
    {
        foreach (var f in Inputs) if (f.Number == number) return true;
        foreach (var f in OutputLevelInputs) if (f.Number == number) return true;
        return false;
    }

    public IEnumerable<(int Level, FileMetadata File)> AllInputs()
    {
        foreach (var f in Inputs) yield return (Level, f);
        if (OutputLevel != Level) foreach (var f in OutputLevelInputs) yield return (OutputLevel, f);
    }
}
