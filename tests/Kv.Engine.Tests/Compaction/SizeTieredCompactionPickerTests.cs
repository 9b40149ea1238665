using Kv.Engine.Compaction;
using Kv.Engine.Manifest;
using static Kv.Engine.Tests.Compaction.PickerTestData;

namespace Kv.Engine.Tests.Compaction;

public class SizeTieredCompactionPickerTests
{
    private static readonly SizeTieredCompactionPicker Picker = new(minThreshold: 4, maxThreshold: 6, minTableBytes: 100);

    [Fact]
    public void Pick_FourSimilarAndOneLarge_MergesTheSimilarOnesIntoL0()
    {
        var v = Tree([File(1, "a", "z", 1000), File(2, "a", "z", 1100), File(3, "a", "z", 900), File(4, "a", "z", 1200), File(5, "a", "z", 50_000)]);
        var plan = Picker.Pick(v, _ => null)!;
        Assert.Equal([1UL, 2, 3, 4], Numbers(plan.Inputs));
        Assert.Equal(0, plan.Level);
        Assert.Equal(0, plan.OutputLevel);
        Assert.Empty(plan.OutputLevelInputs);
        Assert.False(plan.SplitOutput);
    }

    [Fact]
    public void Pick_BucketsBelowMinThreshold_ReturnsNull()
    {
        var v = Tree([File(1, "a", "z", 1000), File(2, "a", "z", 1000), File(3, "a", "z", 1000), File(4, "a", "z", 10_000), File(5, "a", "z", 10_000)]);
        Assert.Null(Picker.Pick(v, _ => null));
        Assert.Equal(0.75, Picker.MaxScore(v));
    }

    [Fact]
    public void Pick_BucketLargerThanMaxThreshold_TakesTheSmallestMax()
    {
        var files = Enumerable.Range(1, 9).Select(i => File((ulong)i, "a", "z", 1000 + i)).ToArray();
        var plan = Picker.Pick(Tree(files), _ => null)!;
        Assert.Equal([1UL, 2, 3, 4, 5, 6], Numbers(plan.Inputs));
    }

    [Fact]
    public void Pick_TinyTables_ShareOneBucketWhateverTheirRatio()
    {
        var v = Tree([File(1, "a", "z", 1), File(2, "a", "z", 30), File(3, "a", "z", 90), File(4, "a", "z", 5)]);
        Assert.Equal([1UL, 2, 3, 4], Numbers(Picker.Pick(v, _ => null)!.Inputs));
    }

    [Fact]
    public void Buckets_EveryTableInExactlyOneBucket()
    {
        var files = new FileMetadata[] { File(1, "a", "z", 10), File(2, "a", "z", 1000), File(3, "a", "z", 1400), File(4, "a", "z", 5000), File(5, "a", "z", 200_000) };
        var buckets = Picker.Buckets(files);
        Assert.Equal([1UL, 2, 3, 4, 5], buckets.SelectMany(b => b).Select(f => f.Number).OrderBy(n => n).ToArray());
        Assert.Contains(buckets, b => Numbers(b).SequenceEqual(new ulong[] { 2, 3 }));
    }
}
