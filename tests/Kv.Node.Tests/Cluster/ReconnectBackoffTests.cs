using Kv.Node.Cluster.Net;

namespace Kv.Node.Tests.Cluster;

public class ReconnectBackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(0, 100)]
    [InlineData(1, 200)]
    [InlineData(3, 800)]
    [InlineData(6, 6400)]
    [InlineData(7, 10000)]
    [InlineData(500, 10000)]
    public void Delay_Attempt_IsBetweenHalfAndAllOfTheCappedExponential(int attempt, int ceilingMs)
    {
        var random = new Random(attempt);
        var seen = new HashSet<long>();
        for (var i = 0; i < 200; i++)
        {
            var delay = ReconnectBackoff.Delay(attempt, Initial, Max, random);
            Assert.InRange(delay, TimeSpan.FromMilliseconds(ceilingMs / 2.0), TimeSpan.FromMilliseconds(ceilingMs));
            seen.Add(delay.Ticks);
        }
        Assert.True(seen.Count > 100, "jitter spreads the delays");
    }
}
