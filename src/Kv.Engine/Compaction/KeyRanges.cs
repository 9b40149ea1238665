using Kv.Engine.Manifest;

namespace Kv.Engine.Compaction;

/// <summary>User-key range arithmetic over <see cref="FileMetadata"/>.</summary>
internal static class KeyRanges
{
    public static bool Overlaps(FileMetadata file, ReadOnlySpan<byte> smallestUserKey, ReadOnlySpan<byte> largestUserKey) =>
        file.LargestUserKey.SequenceCompareTo(smallestUserKey) >= 0 && file.SmallestUserKey.SequenceCompareTo(largestUserKey) <= 0;

    public static bool Contains(FileMetadata file, ReadOnlySpan<byte> userKey) =>
        userKey.SequenceCompareTo(file.SmallestUserKey) >= 0 && userKey.SequenceCompareTo(file.LargestUserKey) <= 0;

    /// <summary>The user-key span of <paramref name="files"/> (non-empty).</summary>
    public static (byte[] Smallest, byte[] Largest) Span(IReadOnlyList<FileMetadata> files)
    {
        var smallest = files[0].SmallestUserKey.ToArray();
        var largest = files[0].LargestUserKey.ToArray();
        foreach (var f in files)
        {
            if (f.SmallestUserKey.SequenceCompareTo(smallest) < 0) smallest = f.SmallestUserKey.ToArray();
            if (f.LargestUserKey.SequenceCompareTo(largest) > 0) largest = f.LargestUserKey.ToArray();
        }
        return (smallest, largest);
    }

    public static List<FileMetadata> Overlapping(IReadOnlyList<FileMetadata> level, ReadOnlySpan<byte> smallest, ReadOnlySpan<byte> largest)
    {
        var result = new List<FileMetadata>();
        foreach (var f in level) if (Overlaps(f, smallest, largest)) result.Add(f);
        return result;
    }
}
