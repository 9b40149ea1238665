using CsCheck;
using Kv.Engine.Compaction;
using Kv.Engine.Format;
using Kv.Engine.Iterators;
using Kv.Engine.Memtable;

namespace Kv.Engine.Tests.Compaction;

/// <summary>
/// The compaction iterator against a model: random versions spread over three compaction inputs plus an
/// "outside" source (a level the compaction does not read). Checks the exact output, and that reading the output
/// together with the outside source answers every key as reading the inputs with it did (no resurrection, nothing lost).
/// </summary>
public class CompactionIteratorTests
{
    private const long Now = 100; // expiry cutoff and read time
    private const int Outside = 3;

    public sealed record V(int Key, long Ts, bool Tombstone, byte Value, long Expires, int Source);

    private static readonly Gen<V> GenVersion = Gen.Select(
        Gen.Int[0, 7], Gen.Long[1, 20], Gen.Frequency((3, Gen.Const(false)), (1, Gen.Const(true))), Gen.Byte[0, 3],
        Gen.Frequency((3, Gen.Const(0L)), (1, Gen.Const(50L)), (1, Gen.Const(150L))), Gen.Int[0, 3],
        (k, ts, tomb, v, e, s) => new V(k, ts, tomb, v, tomb ? 0 : e, s));

    private static readonly Gen<(V[] Versions, long Grace, long Watermark)> GenCase = Gen.Select(
        GenVersion.Array[0, 40], Gen.Long[0, 25], Gen.Frequency((1, Gen.Const(long.MaxValue)), (1, Gen.Long[0, 25])));

    [Fact]
    public void MoveNext_RandomVersions_MatchesModelAndNeverResurrects()
    {
        GenCase.Sample(c => Check(c.Versions, c.Grace, c.Watermark), iter: 2000, print: c => string.Join("\n", c.Versions.Select(v => v.ToString())) + $" grace={c.Grace} wm={c.Watermark}");
    }

    [Fact]
    public void MoveNext_TombstoneOverOlderValueOutside_KeepsTombstone()
    {
        // the value at ts 3 lives in a level not being compacted: purging the tombstone would resurrect it
        Check([new V(1, 5, true, 0, 0, 0), new V(1, 3, false, 7, 0, Outside)], grace: 20, watermark: long.MaxValue);
        var output = Run([new V(1, 5, true, 0, 0, 0), new V(1, 3, false, 7, 0, Outside)], 20, long.MaxValue);
        Assert.Single(output);
        Assert.True(output[0].Tombstone);
    }

    [Fact]
    public void MoveNext_TombstoneOverSameTimestampValueOutside_KeepsTombstone()
    {
        var output = Run([new V(1, 5, true, 0, 0, 0), new V(1, 5, false, 7, 0, Outside)], 20, long.MaxValue);
        Assert.Single(output);
    }

    [Fact]
    public void MoveNext_OldTombstoneNothingOutside_PurgesItAndTheShadowedValue()
    {
        var output = Run([new V(1, 5, true, 0, 0, 0), new V(1, 3, false, 7, 0, 1)], 20, long.MaxValue);
        Assert.Empty(output);
    }

    [Fact]
    public void MoveNext_TombstoneAtOrAboveWatermark_Kept()
    {
        Assert.Single(Run([new V(1, 5, true, 0, 0, 0)], 20, watermark: 5));
        Assert.Empty(Run([new V(1, 5, true, 0, 0, 0)], 20, watermark: 6));
    }

    [Fact]
    public void MoveNext_TombstoneWithinGrace_Kept()
    {
        Assert.Single(Run([new V(1, 5, true, 0, 0, 0)], grace: 5, long.MaxValue));
    }

    [Fact]
    public void MoveNext_ExpiredValueTiedWithLiveValueOutside_StaysAValue()
    {
        // a tombstone at ts 13 would beat the outside value at ts 13 that wins the tie against the expired value
        var versions = new[] { new V(1, 13, false, 2, 50, 0), new V(1, 13, false, 3, 150, Outside) };
        Check(versions, grace: 0, long.MaxValue);
        Assert.False(Run(versions, 0, long.MaxValue).Single().Tombstone);
    }

    [Fact]
    public void MoveNext_ExpiredValue_BecomesTombstoneAtSameTimestamp()
    {
        var output = Run([new V(1, 5, false, 1, 50, 0), new V(1, 2, false, 2, 0, 1)], grace: 0, long.MaxValue);
        Assert.Equal([new V(1, 5, true, 0, 0, -1)], output);
    }

    private static void Check(V[] versions, long grace, long watermark)
    {
        var output = Run(versions, grace, watermark);
        var inputs = versions.Where(v => v.Source != Outside).ToList();
        var outside = versions.Where(v => v.Source == Outside).ToList();

        var expected = new List<V>();
        foreach (var group in inputs.GroupBy(v => v.Key).OrderBy(g => g.Key))
        {
            var w = Winner(group)!;
            var below = outside.Any(o => o.Key == w.Key && o.Ts <= w.Ts);
            if (!w.Tombstone && w.Expires != 0 && w.Expires < Now && !below) w = new V(w.Key, w.Ts, true, 0, 0, -1);
            var purge = w.Tombstone && w.Ts < grace && w.Ts < watermark && !below;
            if (!purge) expected.Add(w with { Source = -1, Value = w.Tombstone ? (byte)0 : w.Value });
        }
        Assert.Equal(expected, output);

        for (var key = 0; key < 8; key++)
        {
            var before = Visible(Winner(versions.Where(v => v.Key == key)));
            var after = Visible(Winner(output.Concat(outside).Where(v => v.Key == key)));
            Assert.Equal(before, after);
        }
    }

    private static string Visible(V? v) =>
        v is null || v.Tombstone || (v.Expires != 0 && v.Expires <= Now) ? "absent" : $"{v.Value}@{v.Ts}";

    private static V? Winner(IEnumerable<V> versions)
    {
        V? best = null;
        foreach (var v in versions)
        {
            if (best is null || InternalKey.Supersedes(v.Ts, Kind(v), Encode(v), best.Ts, Kind(best), Encode(best))) best = v;
        }
        return best;
    }

    private static EntryKind Kind(V v) => v.Tombstone ? EntryKind.Tombstone : EntryKind.Value;

    private static byte[] Encode(V v)
    {
        if (v.Tombstone) return [];
        var buffer = new byte[EntryValue.EncodedLength(v.Expires, 1)];
        EntryValue.Write(buffer, v.Expires, [v.Value]);
        return buffer;
    }

    private static List<V> Run(V[] versions, long grace, long watermark)
    {
        var sources = new SkipListMemtable[3];
        for (var i = 0; i < sources.Length; i++) sources[i] = new SkipListMemtable(64 * 1024);
        var seq = 0;
        foreach (var v in versions)
        {
            if (v.Source == Outside) continue;
            sources[v.Source].Add([(byte)v.Key], v.Ts, Kind(v), Encode(v), ++seq);
        }
        var outside = versions.Where(v => v.Source == Outside).ToList();
        var policy = new TombstonePurgePolicy(grace, watermark, static ts => ts,
            (key, ts) =>
            {
                var k = key[0];
                return outside.Any(o => o.Key == k && o.Ts <= ts);
            });
        using var merged = new MergingIterator([.. sources.Select(s => (IInternalIterator)s.NewIterator())]);
        var it = new CompactionIterator(merged, Now, policy);
        var result = new List<V>();
        while (it.MoveNext())
        {
            var tomb = InternalKey.Kind(it.Key) == EntryKind.Tombstone;
            byte value = 0;
            long expires = 0;
            if (!tomb)
            {
                Assert.True(EntryValue.TryRead(it.Value, out expires, out var bytes));
                value = bytes[0];
            }
            else
            {
                Assert.Equal(0, it.Value.Length);
            }
            result.Add(new V(InternalKey.UserKey(it.Key)[0], InternalKey.Timestamp(it.Key), tomb, value, expires, -1));
        }
        return result;
    }
}
