using Kv.Node.Resp;

namespace Kv.Node.Tests.Resp;

/// <summary>INFO commandstats' counters: striped per thread, summed per command, and a command defined after the
/// server started still counted.</summary>
public class CommandStatisticsTests
{
    private static CommandDefinition Define(string name) => new(name, 1, CommandFlags.None, _ => default, "test", "a test command");

    [Fact]
    public void CountCall_FromManyThreads_SumsPerCommandAndKeepsCommandsApart()
    {
        var ping = Define("ping-like");
        var echo = Define("echo-like");
        var stats = new CommandStatistics();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 1000; i++)
            {
                stats.CountCall(ping, 3);
                if (i % 10 == 0) stats.CountRejected(echo);
            }
        });
        stats.CountFailed(echo);

        var p = stats.Get(ping);
        Assert.Equal(8000, p.Calls);
        Assert.Equal(System.Diagnostics.Stopwatch.GetElapsedTime(0, 24_000), p.Time);
        Assert.Equal(0, p.Rejected + p.Failed);
        Assert.Equal(new CommandStatistics.Totals(0, TimeSpan.Zero, 800, 1), stats.Get(echo));
    }

    [Fact]
    public void CountCall_ForACommandDefinedAfterTheServerStarted_GrowsAndKeepsEarlierCounts()
    {
        var early = Define("early");
        var stats = new CommandStatistics();
        stats.CountCall(early, 5);
        var late = Enumerable.Range(0, 40).Select(i => Define("late" + i)).Last(); // past the arrays' first size
        stats.CountCall(late, 7);
        stats.CountCall(late, 7);

        Assert.Equal(1, stats.Get(early).Calls);
        Assert.Equal(2, stats.Get(late).Calls);
        Assert.Equal(0, stats.Get(Define("never")).Calls);
    }
}
