using System.Text;
using Kv.Node.Storage;

namespace Kv.Node.Tests.Storage;

/// <summary>The record of read-modify-write versions handed to the engine and not applied yet (<see cref="PendingWrites"/>).</summary>
public sealed class PendingWritesTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Newest_SeveralWritesInFlight_TheLatestOfThatKeyOnThatStripe()
    {
        var pending = new PendingWrites(4);
        var group = new TaskCompletionSource();
        pending.Add(1, new PendingWrite(B("k"), B("1"), 0, 10, group.Task));
        pending.Add(1, new PendingWrite(B("other"), B("x"), 0, 11, group.Task));
        pending.Add(1, new PendingWrite(B("k"), B("2"), 0, 12, group.Task));

        Assert.Equal(B("2"), pending.Newest(1, B("k"))!.Value);
        Assert.Equal(B("x"), pending.Newest(1, B("other"))!.Value);
        Assert.Null(pending.Newest(1, B("missing")));
        Assert.Null(pending.Newest(2, B("k"))); // another stripe
    }

    [Fact]
    public void Newest_WriteApplied_ForgottenSoTheEngineAnswers()
    {
        var pending = new PendingWrites(2);
        var first = new TaskCompletionSource();
        var second = new TaskCompletionSource();
        pending.Add(0, new PendingWrite(B("k"), B("1"), 0, 10, first.Task));
        pending.Add(0, new PendingWrite(B("k"), null, 0, 11, second.Task));

        second.SetResult(); // applied out of order: the older one is still in flight, and is the newest not applied
        var newest = pending.Newest(0, B("k"))!;
        Assert.Equal(10, newest.Timestamp);
        Assert.Equal(2, pending.Count(0));

        first.SetResult();
        Assert.Null(pending.Newest(0, B("k")));
        Assert.Equal(0, pending.Count(0));
    }

    [Fact]
    public async Task DrainAsync_WritesInFlight_CompletesWhenEveryOneEndedFailedOnesIncluded()
    {
        var pending = new PendingWrites(2);
        var ok = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pending.Add(1, new PendingWrite(B("a"), B("1"), 0, 1, ok.Task));
        pending.Add(1, new PendingWrite(B("b"), B("2"), 0, 2, failing.Task));

        var drain = pending.DrainAsync(1).AsTask();
        Assert.False(drain.IsCompleted);
        failing.SetException(new IOException("disk gone")); // its own command reports it; the drain only waits
        await Task.Delay(20);
        Assert.False(drain.IsCompleted);
        ok.SetResult();
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, pending.Count(1));
        Assert.True(pending.DrainAsync(0).IsCompleted); // nothing recorded there
    }
}
