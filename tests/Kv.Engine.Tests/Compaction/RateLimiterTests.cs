using Kv.Engine.Compaction;
namespace Kv.Engine.Tests.Compaction;

public class RateLimiterTests
{
    /// <summary>A clock whose timestamps move only when told (Stopwatch-style ticks at 1 per 100 ns).</summary>
    private sealed class FakeClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks) + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    [Fact]
    public void Reserve_WithinBurst_NoWait()
    {
        var limiter = new RateLimiter(1000, new FakeClock());
        Assert.Equal(TimeSpan.Zero, limiter.Reserve(600));
        Assert.Equal(TimeSpan.Zero, limiter.Reserve(400));
    }

    [Fact]
    public void Reserve_PastBurst_WaitsForTheDeficitAtTheRate()
    {
        var limiter = new RateLimiter(1000, new FakeClock());
        limiter.Reserve(1000);
        Assert.Equal(TimeSpan.FromMilliseconds(500), limiter.Reserve(500));
        // the debt carries over: the next caller waits for both
        Assert.Equal(TimeSpan.FromMilliseconds(1000), limiter.Reserve(500));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), limiter.TotalWait);
    }

    [Fact]
    public void Reserve_AnyAmount_AddsToTotalBytes()
    {
        var limiter = new RateLimiter(1000, new FakeClock());
        limiter.Reserve(600);
        limiter.Reserve(900); // past the burst: still counted, the caller is told to wait
        Assert.Equal(1500, limiter.TotalBytes);
    }

    [Fact]
    public void Reserve_AfterTimePasses_Refills()
    {
        var clock = new FakeClock();
        var limiter = new RateLimiter(1000, clock);
        limiter.Reserve(1000);
        clock.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.Zero, limiter.Reserve(250));
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.Reserve(100));
    }

    [Fact]
    public void Reserve_LongIdle_RefillCappedAtOneSecondBurst()
    {
        var clock = new FakeClock();
        var limiter = new RateLimiter(1000, clock);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(TimeSpan.Zero, limiter.Reserve(1000));
        Assert.Equal(TimeSpan.FromMilliseconds(1), limiter.Reserve(1));
    }

    [Fact]
    public void Reserve_SustainedLoad_ThroughputMatchesRate()
    {
        var clock = new FakeClock();
        var limiter = new RateLimiter(10_000, clock);
        long granted = 0;
        var elapsed = TimeSpan.Zero;
        for (var i = 0; i < 1000; i++)
        {
            var wait = limiter.Reserve(777);
            clock.Advance(wait);
            elapsed += wait;
            granted += 777;
        }
        // everything past the initial burst was paid for at exactly the rate
        Assert.Equal((granted - 10_000) / 10_000.0, elapsed.TotalSeconds, 6);
    }
}
