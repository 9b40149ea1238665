using Kv.Node.Storage;

namespace Kv.Node.Tests.Storage;

/// <summary>The handshake between blind writes and a stripe lock's holder (<see cref="BlindWrites"/>), step by step.</summary>
public sealed class BlindWritesTests
{
    [Fact]
    public async Task TryEnter_StripeLockHeld_RefusedAndNothingCounted()
    {
        var blind = new BlindWrites(4);
        using var stripe = new SemaphoreSlim(1, 1);
        await stripe.WaitAsync();

        Assert.False(blind.TryEnter(2, stripe));
        Assert.Equal(0, blind.InFlight(2));

        stripe.Release();
        Assert.True(blind.TryEnter(2, stripe));
        Assert.Equal(1, blind.InFlight(2));
    }

    [Fact]
    public async Task DrainAsync_WritesInFlight_CompletesWhenTheLastEnds()
    {
        var blind = new BlindWrites(4);
        using var stripe = new SemaphoreSlim(1, 1);
        Assert.True(blind.TryEnter(1, stripe));
        Assert.True(blind.TryEnter(1, stripe));
        Assert.True(blind.TryEnter(3, stripe)); // another stripe: not waited for
        await stripe.WaitAsync();

        var drain = blind.DrainAsync(1).AsTask();
        Assert.False(drain.IsCompleted);
        blind.Exit(1);
        await Task.Delay(20);
        Assert.False(drain.IsCompleted);
        blind.Exit(1);
        await drain.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(blind.DrainAsync(2).IsCompleted); // nothing in flight there
    }

    [Fact]
    public async Task Track_PendingWrites_EndTheCountWhenTheirTaskEndsAndPassItsOutcome()
    {
        var blind = new BlindWrites(3);
        using var stripe = new SemaphoreSlim(1, 1);
        for (var round = 0; round < 3; round++)
        {
            // Two writes of one group (one shared task), one of them on another stripe.
            var group = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Assert.True(blind.TryEnter(0, stripe));
            Assert.True(blind.TryEnter(1, stripe));
            var first = blind.Track(new ValueTask(group.Task), 0).AsTask();
            var second = blind.Track(new ValueTask(group.Task), 1).AsTask();
            Assert.Equal(1, blind.InFlight(0));
            Assert.False(blind.DrainAsync(0).IsCompleted);
            group.SetResult();
            await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
            await blind.DrainAsync(0).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            await blind.DrainAsync(1).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

            var failing = new TaskCompletionSource();
            Assert.True(blind.TryEnter(0, stripe));
            var failed = blind.Track(new ValueTask(failing.Task), 0).AsTask();
            failing.SetException(new IOException("disk gone"));
            var error = await Assert.ThrowsAsync<IOException>(() => failed.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal("disk gone", error.Message);
            await blind.DrainAsync(0).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.True(blind.TryEnter(2, stripe));
        Assert.Equal(ValueTask.CompletedTask, blind.Track(ValueTask.CompletedTask, 2)); // already done: ended at once
        Assert.Equal(0, blind.InFlight(2));
    }
}
