using Kv.Engine.Manifest;
using Version = Kv.Engine.Manifest.Version;

namespace Kv.Engine.Compaction;

/// <summary>
/// Leveled compaction (LevelDB/RocksDB style). Scores: L0 = file count / <see cref="Level0Trigger"/>;
/// Ln = bytes / (<see cref="LevelBaseBytes"/> × multiplier^(n-1)). The level with the highest score &gt;= 1 is
/// compacted into the next one: all of L0 (its tables overlap), or for Ln the first table past the level's
/// compaction pointer (wrapping round), plus every table of the next level that overlaps them.
/// <para>Dynamic level targets (default, RocksDB's <c>level_compaction_dynamic_level_bytes</c> in spirit): a level above
/// the deepest non-empty one gets target max(base, deepest level's bytes / multiplier^distance) instead of the static
/// base × multiplier^(n-1). With static targets a tree whose deepest level is far below its target keeps up to a
/// full upper level of shadowed versions; sizing from the bottom keeps space amplification near 1 + 1/multiplier.
/// The deepest level itself uses its static target, so it spills into a new level once it really is that big.</para>
/// Immutable; thread-safe.
/// </summary>
public sealed class LeveledCompactionPicker : ICompactionPicker
{
    public LeveledCompactionPicker(int level0Trigger = 4, long levelBaseBytes = 64L * 1024 * 1024, int multiplier = 10, bool dynamicLevelBytes = true)
    {
        DynamicLevelBytes = dynamicLevelBytes;
        ArgumentOutOfRangeException.ThrowIfLessThan(level0Trigger, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(levelBaseBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(multiplier, 2);
        Level0Trigger = level0Trigger;
        LevelBaseBytes = levelBaseBytes;
        Multiplier = multiplier;
    }

    public int Level0Trigger { get; }
    public long LevelBaseBytes { get; }
    public int Multiplier { get; }
    public bool DynamicLevelBytes { get; }

    /// <summary>Target size of level <paramref name="level"/> (1..6).</summary>
    public long MaxBytesForLevel(int level)
    {
        double bytes = LevelBaseBytes;
        for (var l = 1; l < level; l++) bytes *= Multiplier;
        return bytes >= long.MaxValue ? long.MaxValue : (long)bytes;
    }

    /// <summary>The size level <paramref name="level"/> (1..6) is compacted down to in <paramref name="version"/>.</summary>
    public long TargetBytes(Version version, int level)
    {
        if (!DynamicLevelBytes) return MaxBytesForLevel(level);
        var deepest = 0;
        for (var l = Version.NumLevels - 1; l >= 1 && deepest == 0; l--)
        {
            if (version.FileCount(l) > 0) deepest = l;
        }
        if (level >= deepest) return MaxBytesForLevel(level);
        double target = version.LevelBytes(deepest);
        for (var l = deepest; l > level; l--) target /= Multiplier;
        return Math.Max(LevelBaseBytes, (long)target);
    }

    public double Score(Version version, int level) =>
        level == 0
            ? (double)version.FileCount(0) / Level0Trigger
            : (double)version.LevelBytes(level) / TargetBytes(version, level);

    public double MaxScore(Version version)
    {
        var max = 0.0;
        // the last level has nowhere to go
        for (var level = 0; level < Version.NumLevels - 1; level++) max = Math.Max(max, Score(version, level));
        return max;
    }

    public CompactionPlan? Pick(Version version, Func<int, byte[]?> compactPointer)
    {
        var bestLevel = -1;
        var bestScore = 1.0;
        for (var level = 0; level < Version.NumLevels - 1; level++)
        {
            var score = Score(version, level);
            if (score >= bestScore)
            {
                bestScore = score;
                bestLevel = level;
            }
        }
        if (bestLevel < 0) return null;

        List<FileMetadata> inputs;
        byte[]? pointer = null;
        if (bestLevel == 0)
        {
            inputs = [.. version.Files(0)];
        }
        else
        {
            var files = version.Files(bestLevel);
            var after = compactPointer(bestLevel);
            var chosen = files[0];
            if (after is not null)
            {
                foreach (var f in files)
                {
                    if (FileMetadata.CompareKeys(f.Largest, after) > 0)
                    {
                        chosen = f;
                        break;
                    }
                }
            }
            inputs = [chosen];
            pointer = chosen.Largest;
        }

        var (smallest, largest) = KeyRanges.Span(inputs);
        var next = KeyRanges.Overlapping(version.Files(bestLevel + 1), smallest, largest);
        return new CompactionPlan(bestLevel, bestLevel + 1, inputs, next, pointer, splitOutput: true,
                                  $"L{bestLevel} score {bestScore:F2}");
    }
}
