using System.Text;
using Kv.Engine.Format;
using Kv.Engine.Iterators;
using Kv.Engine.Memtable;

namespace Kv.Engine.Tests.Memtable;

public class MergingIteratorTests
{
    private static SkipListMemtable Table(params (string Key, long Ts)[] entries)
    {
        var m = new SkipListMemtable(64 * 1024);
        var seq = 0;
        foreach (var (key, ts) in entries) m.Add(Encoding.UTF8.GetBytes(key), ts, EntryKind.Value, [0], ++seq);
        return m;
    }

    private static List<string> Drain(IInternalIterator it)
    {
        var result = new List<string>();
        for (; it.Valid; it.Next()) result.Add($"{Encoding.UTF8.GetString(InternalKey.UserKey(it.Key))}@{InternalKey.Timestamp(it.Key)}");
        return result;
    }

    [Fact]
    public void SeekToFirst_ThreeSources_YieldsOneSortedStreamWithNewestVersionFirst()
    {
        var a = Table(("a", 1), ("c", 5));
        var b = Table(("b", 2), ("c", 9));
        var c = Table();
        using var merged = new MergingIterator([a.NewIterator(), b.NewIterator(), c.NewIterator()]);
        merged.SeekToFirst();
        Assert.Equal(["a@1", "b@2", "c@9", "c@5"], Drain(merged));
    }

    [Fact]
    public void Seek_MiddleKey_StartsAtFirstEntryAtOrAfterIt()
    {
        var a = Table(("a", 1), ("d", 1));
        var b = Table(("b", 1), ("c", 1), ("e", 1));
        using var merged = new MergingIterator([a.NewIterator(), b.NewIterator()]);
        var seek = new byte[InternalKey.EncodedLength(1)];
        InternalKey.WriteSeekKey(seek, "c"u8);
        merged.Seek(seek);
        Assert.Equal(["c@1", "d@1", "e@1"], Drain(merged));
    }
}
