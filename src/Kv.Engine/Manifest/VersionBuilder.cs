namespace Kv.Engine.Manifest;

/// <summary>
/// Applies edits to a base <see cref="Version"/> and builds the next one, checking that the edits make sense
/// (a deleted table exists, an added one is new, levels 1+ do not overlap). Single-threaded.
/// </summary>
internal sealed class VersionBuilder
{
    private readonly List<FileMetadata>[] _levels = new List<FileMetadata>[Version.NumLevels];

    public VersionBuilder(Version baseVersion)
    {
        for (var level = 0; level < Version.NumLevels; level++) _levels[level] = [.. baseVersion.Files(level)];
    }

    /// <summary>Applies <paramref name="edit"/>; returns an error message instead of throwing so that callers can
    /// wrap it as a usage error or as manifest corruption.</summary>
    public string? TryApply(VersionEdit edit)
    {
        foreach (var (level, number) in edit.DeletedFiles)
        {
            var index = _levels[level].FindIndex(f => f.Number == number);
            if (index < 0) return $"the edit deletes table {number} from level {level}, which does not hold it";
            _levels[level].RemoveAt(index);
        }
        foreach (var (level, file) in edit.NewFiles)
        {
            foreach (var files in _levels)
            {
                foreach (var existing in files)
                {
                    if (existing.Number == file.Number) return $"the edit adds table {file.Number} to level {level}, but it is already live";
                }
            }
            _levels[level].Add(file);
        }
        return null;
    }

    /// <summary>Builds the version, or returns an error if levels 1+ would overlap.</summary>
    public string? TryBuild(out Version version)
    {
        var levels = new FileMetadata[Version.NumLevels][];
        var l0 = _levels[0].ToArray();
        Array.Sort(l0, static (a, b) => b.Number.CompareTo(a.Number));
        levels[0] = l0;
        for (var level = 1; level < Version.NumLevels; level++)
        {
            var files = _levels[level].ToArray();
            Array.Sort(files, static (a, b) =>
            {
                var c = FileMetadata.CompareKeys(a.Smallest, b.Smallest);
                return c != 0 ? c : a.Number.CompareTo(b.Number);
            });
            for (var i = 1; i < files.Length; i++)
            {
                if (files[i - 1].LargestUserKey.SequenceCompareTo(files[i].SmallestUserKey) >= 0)
                {
                    version = Version.Empty;
                    return $"tables {files[i - 1].Number} and {files[i].Number} of level {level} overlap";
                }
            }
            levels[level] = files;
        }
        version = new Version(levels);
        return null;
    }
}
