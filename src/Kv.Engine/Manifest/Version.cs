namespace Kv.Engine.Manifest;

/// <summary>
/// One immutable state of the LSM tree: the live tables of each level. Level 0 is ordered newest first (by file
/// number, descending) and its tables may overlap; levels 1 and up are sorted by smallest key and do not overlap.
/// Thread-safe (immutable); a new one is published by <see cref="VersionSet.LogAndApply"/>.
/// </summary>
public sealed class Version
{
    /// <summary>Levels of the tree. wire format: edits store level numbers below it.</summary>
    public const int NumLevels = 7;

    public static readonly Version Empty = new(EmptyLevels());

    private readonly FileMetadata[][] _levels;

    internal Version(FileMetadata[][] levels)
    {
        _levels = levels;
    }

    public int LevelCount => NumLevels;

    public IReadOnlyList<FileMetadata> Files(int level) => _levels[level];

    public int FileCount(int level) => _levels[level].Length;

    /// <summary>Total size of the tables of <paramref name="level"/>.</summary>
    public long LevelBytes(int level)
    {
        long total = 0;
        foreach (var f in _levels[level]) total += f.Size;
        return total;
    }

    /// <summary>Tables in every level.</summary>
    public int TotalFileCount
    {
        get
        {
            var n = 0;
            foreach (var level in _levels) n += level.Length;
            return n;
        }
    }

    /// <summary>The level holding table <paramref name="number"/>, or -1.</summary>
    public int LevelOf(ulong number)
    {
        for (var level = 0; level < NumLevels; level++)
        {
            foreach (var f in _levels[level])
                if (f.Number == number) return level;
        }
        return -1;
    }

    /// <summary>True if both versions hold the same tables, with the same metadata, in the same levels.</summary>
    public bool SameFilesAs(Version other)
    {
        for (var level = 0; level < NumLevels; level++)
        {
            if (!_levels[level].AsSpan().SequenceEqual(other._levels[level])) return false;
        }
        return true;
    }

    internal static FileMetadata[][] EmptyLevels()
    {
        var levels = new FileMetadata[NumLevels][];
        for (var i = 0; i < NumLevels; i++) levels[i] = [];
        return levels;
    }
}
