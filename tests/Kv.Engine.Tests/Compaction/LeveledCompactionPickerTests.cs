using Kv.Engine.Compaction;
using static Kv.Engine.Tests.Compaction.PickerTestData;

namespace Kv.Engine.Tests.Compaction;

public class LeveledCompactionPickerTests
{
    private static readonly LeveledCompactionPicker Picker = new(level0Trigger: 4, levelBaseBytes: 1000, multiplier: 10, dynamicLevelBytes: false);

    [Fact]
    public void Pick_L0BelowTrigger_ReturnsNull()
    {
        var v = Tree([File(1, "a", "z", 10), File(2, "a", "z", 10), File(3, "a", "z", 10)]);
        Assert.Null(Picker.Pick(v, _ => null));
    }

    [Fact]
    public void Pick_L0AtTrigger_TakesAllL0AndOnlyOverlappingL1()
    {
        var v = Tree(
            [File(10, "c", "f", 10), File(11, "d", "g", 10), File(12, "e", "h", 10), File(13, "c", "d", 10)],
            [File(1, "a", "b", 100), File(2, "b1", "c5", 100), File(3, "g", "k", 100), File(4, "m", "p", 100)]);
        var plan = Picker.Pick(v, _ => null)!;
        Assert.Equal(0, plan.Level);
        Assert.Equal(1, plan.OutputLevel);
        Assert.Equal([10UL, 11, 12, 13], Numbers(plan.Inputs));
        Assert.Equal([2UL, 3], Numbers(plan.OutputLevelInputs));
        Assert.True(plan.SplitOutput);
    }

    [Fact]
    public void Pick_L1OverTarget_TakesFileAfterCompactPointerAndWraps()
    {
        var v = Tree([], [File(1, "a", "b", 400), File(2, "c", "d", 400), File(3, "e", "f", 400)], [File(7, "c5", "e5", 10)]);
        var first = Picker.Pick(v, _ => null)!;
        Assert.Equal([1UL], Numbers(first.Inputs));
        Assert.Empty(first.OutputLevelInputs);
        Assert.Equal(Ik("b"), first.CompactPointer);

        var second = Picker.Pick(v, level => level == 1 ? Ik("b") : null)!;
        Assert.Equal([2UL], Numbers(second.Inputs));
        Assert.Equal([7UL], Numbers(second.OutputLevelInputs));

        var wrapped = Picker.Pick(v, level => level == 1 ? Ik("f") : null)!;
        Assert.Equal([1UL], Numbers(wrapped.Inputs));
    }

    [Fact]
    public void Pick_SeveralLevelsDue_PicksHighestScore()
    {
        // L0 score 5/4 = 1.25, L1 score 1500/1000 = 1.5, L2 score 25000/10000 = 2.5
        var v = Tree(
            [File(20, "a", "b", 1), File(21, "a", "b", 1), File(22, "a", "b", 1), File(23, "a", "b", 1), File(24, "a", "b", 1)],
            [File(1, "a", "z", 1500)],
            [File(2, "a", "m", 12500), File(3, "n", "z", 12500)]);
        Assert.Equal(1.25, Picker.Score(v, 0));
        Assert.Equal(1.5, Picker.Score(v, 1));
        Assert.Equal(2.5, Picker.Score(v, 2));
        Assert.Equal(2.5, Picker.MaxScore(v));
        var plan = Picker.Pick(v, _ => null)!;
        Assert.Equal(2, plan.Level);
        Assert.Equal(3, plan.OutputLevel);
    }

    [Fact]
    public void MaxBytesForLevel_MultipliesByTenPerLevel()
    {
        Assert.Equal(1000, Picker.MaxBytesForLevel(1));
        Assert.Equal(10_000, Picker.MaxBytesForLevel(2));
        Assert.Equal(100_000_000, Picker.MaxBytesForLevel(6));
    }

    [Fact]
    public void Pick_LastLevelOverTarget_NothingToDo()
    {
        var v = Tree([], [], [], [], [], [], [File(1, "a", "z", long.MaxValue / 2)]);
        Assert.Null(Picker.Pick(v, _ => null));
    }

    [Fact]
    public void TargetBytes_Dynamic_SizedFromTheDeepestLevel()
    {
        var dynamic = new LeveledCompactionPicker(level0Trigger: 4, levelBaseBytes: 1000, multiplier: 10);
        var v = Tree([], [File(1, "a", "z", 900)], [File(2, "a", "z", 9000)], [File(3, "a", "z", 95_000)]);
        Assert.Equal(1000, dynamic.TargetBytes(v, 1));    // 95 000 / 100 = 950, below the base
        Assert.Equal(9500, dynamic.TargetBytes(v, 2));    // 95 000 / 10
        Assert.Equal(100_000, dynamic.TargetBytes(v, 3)); // deepest: static target
        Assert.Null(dynamic.Pick(v, _ => null));

        // a small deepest level: the floor is the base size, and the upper levels drain into it
        var small = Tree([], [File(1, "a", "z", 1500)], [File(2, "a", "z", 3000)]);
        Assert.Equal(1000, dynamic.TargetBytes(small, 1));
        Assert.Equal(1, dynamic.Pick(small, _ => null)!.Level);
    }
}
