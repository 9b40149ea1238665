using Kv.Engine.Manifest;
using Version = Kv.Engine.Manifest.Version;

namespace Kv.Engine.Compaction;

/// <summary>
/// Size-tiered compaction (Cassandra STCS): every table lives in L0 as its own sorted run. Tables are grouped
/// into buckets of similar size (within [<see cref="BucketLow"/>, <see cref="BucketHigh"/>] × the bucket's average;
/// tables below <see cref="MinTableBytes"/> all share one bucket); a bucket with at least
/// <see cref="MinThreshold"/> tables is merged into one table, at most <see cref="MaxThreshold"/> of its smallest.
/// Among due buckets the one with the most tables wins (smallest average size on a tie: cheapest first).
/// Immutable; thread-safe.
/// </summary>
public sealed class SizeTieredCompactionPicker : ICompactionPicker
{
    public SizeTieredCompactionPicker(int minThreshold = 4, int maxThreshold = 32, double bucketLow = 0.5, double bucketHigh = 1.5,
                                      long minTableBytes = 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minThreshold, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreshold, minThreshold);
        MinThreshold = minThreshold;
        MaxThreshold = maxThreshold;
        BucketLow = bucketLow;
        BucketHigh = bucketHigh;
        MinTableBytes = minTableBytes;
    }

    public int MinThreshold { get; }
    public int MaxThreshold { get; }
    public double BucketLow { get; }
    public double BucketHigh { get; }
    public long MinTableBytes { get; }

    /// <summary>Buckets of similar-sized tables, each sorted by size ascending.</summary>
    public List<List<FileMetadata>> Buckets(IReadOnlyList<FileMetadata> tables)
    {
        var sorted = new List<FileMetadata>(tables);
        sorted.Sort(static (a, b) => a.Size != b.Size ? a.Size.CompareTo(b.Size) : a.Number.CompareTo(b.Number));
        var buckets = new List<List<FileMetadata>>();
        var averages = new List<double>();
        foreach (var t in sorted)
        {
            var placed = false;
            for (var i = 0; i < buckets.Count && !placed; i++)
            {
                var avg = averages[i];
                var similar = (t.Size >= avg * BucketLow && t.Size <= avg * BucketHigh) || (t.Size < MinTableBytes && avg < MinTableBytes);
                if (!similar) continue;
                buckets[i].Add(t);
                averages[i] = ((avg * (buckets[i].Count - 1)) + t.Size) / buckets[i].Count;
                placed = true;
            }
            if (placed) continue;
            buckets.Add([t]);
            averages.Add(t.Size);
        }
        return buckets;
    }

    public double MaxScore(Version version)
    {
        var max = 0.0;
        foreach (var b in Buckets(version.Files(0))) max = Math.Max(max, (double)b.Count / MinThreshold);
        return max;
    }

    public CompactionPlan? Pick(Version version, Func<int, byte[]?> compactPointer)
    {
        List<FileMetadata>? best = null;
        double bestAverage = 0;
        foreach (var bucket in Buckets(version.Files(0)))
        {
            if (bucket.Count < MinThreshold) continue;
            var chosen = bucket.Count > MaxThreshold ? bucket.GetRange(0, MaxThreshold) : bucket;
            double sum = 0;
            foreach (var f in chosen) sum += f.Size;
            var average = sum / chosen.Count;
            if (best is null || chosen.Count > best.Count || (chosen.Count == best.Count && average < bestAverage))
            {
                best = chosen;
                bestAverage = average;
            }
        }
        if (best is null) return null;
        return new CompactionPlan(0, 0, best, [], compactPointer: null, splitOutput: false,
                                  $"size tier of {best.Count} tables averaging {bestAverage:F0} bytes");
    }
}
