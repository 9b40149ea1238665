using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster.Coordination;

public sealed class ScanPagesTests
{
    private static ScanRow Row(string key, long timestamp, MutationKind kind = MutationKind.Value, string value = "v") =>
        new(Encoding.UTF8.GetBytes(key), kind, timestamp, 0, kind == MutationKind.Value ? Encoding.UTF8.GetBytes(value) : default);

    private static RangeScanResponse Page(string? next, params ScanRow[] rows) =>
        new(rows, next is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(next));

    private static string Describe(List<ScanRow> rows) => string.Join(" ", rows.Select(r =>
        $"{Encoding.UTF8.GetString(r.StorageKey.Span)}@{r.Timestamp}{(r.Kind == MutationKind.Tombstone ? "x" : "")}"));

    [Fact]
    public void CompletePages_UnionOfKeys_NewestVersionOfEach()
    {
        var merged = new List<ScanRow>();
        var next = ScanPages.Merge(
        [
            Page(null, Row("a", 1), Row("c", 5), Row("d", 7, MutationKind.Tombstone)),
            Page(null, Row("b", 2), Row("c", 6), Row("d", 3)),
        ], merged);
        Assert.True(next.IsEmpty);
        Assert.Equal("a@1 b@2 c@6 d@7x", Describe(merged));
    }

    [Fact]
    public void IncompletePage_KeysAtOrPastItsNextStartWait_ForTheNextRound()
    {
        // The first page stopped before "c": the second page's "c" and "e" may be shadowed by versions it has not sent.
        var merged = new List<ScanRow>();
        var next = ScanPages.Merge(
        [
            Page("c", Row("a", 1), Row("b", 1)),
            Page(null, Row("b", 9, MutationKind.Tombstone), Row("c", 1), Row("e", 1)),
        ], merged);
        Assert.Equal("c", Encoding.UTF8.GetString(next.Span));
        Assert.Equal("a@1 b@9x", Describe(merged));
    }

    [Fact]
    public void SeveralIncompletePages_TheSmallestNextStartBounds()
    {
        var merged = new List<ScanRow>();
        var next = ScanPages.Merge(
        [
            Page("f", Row("a", 1), Row("e", 1)),
            Page("c", Row("b", 1)),
            Page(null, Row("a", 2), Row("d", 1)),
        ], merged);
        Assert.Equal("c", Encoding.UTF8.GetString(next.Span));
        Assert.Equal("a@2 b@1", Describe(merged));
    }

    [Fact]
    public void Stale_PagesMissingOrOlderThanTheWinner_BelowTheBoundOnly()
    {
        var merged = new List<ScanRow>();
        var stale = new List<(int Page, ScanRow Winner)>();
        var next = ScanPages.Merge(
        [
            Page("d", Row("a", 1), Row("b", 5), Row("c", 1)),
            Page(null, Row("a", 1), Row("b", 4), Row("c", 2, MutationKind.Tombstone), Row("e", 1)),
        ], merged, stale);
        Assert.Equal("d", Encoding.UTF8.GetString(next.Span));
        // "a" agrees; the second replica has an older "b"; the first an older "c" (the tombstone is newer); nothing is
        // said of "e", past the first page's limit.
        Assert.Equal("1:b@5 0:c@2x", string.Join(" ", stale.Select(s => $"{s.Page}:{Describe([s.Winner])}")));

        stale.Clear();
        merged.Clear();
        ScanPages.Merge([Page(null, Row("a", 1)), Page(null, Row("b", 1)), Page(null, Row("a", 1), Row("b", 1))], merged, stale);
        Assert.Equal("1:a@1 0:b@1", string.Join(" ", stale.Select(s => $"{s.Page}:{Describe([s.Winner])}"))); // missing keys
    }

    [Fact]
    public void EqualTimestamps_TombstoneWins_ThenLargerValue()
    {
        var merged = new List<ScanRow>();
        ScanPages.Merge(
        [
            Page(null, Row("a", 5, value: "x"), Row("b", 5, value: "z")),
            Page(null, Row("a", 5, MutationKind.Tombstone), Row("b", 5, value: "y")),
        ], merged);
        Assert.Equal("a@5x b@5", Describe(merged));
        Assert.Equal("z", Encoding.UTF8.GetString(merged[1].Value.Span));
    }
}
