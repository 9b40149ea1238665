using System.Diagnostics;
using Kv.Simulation.Cluster;
using Xunit.Abstractions;

namespace Kv.Simulation.Tests.Cluster;

/// <summary>
/// Issue 6's simulator test: hundreds of seeded runs of unique QUORUM writes through random coordinators while
/// nodes crash, restart, pause, get partitioned and slowed; after healing no acknowledged write is lost and the
/// replicas converge. Default suite: <see cref="DefaultSeeds"/> seeds; KV_SOAK=1 runs 1000; KV_SIM_SEED=n runs only n.
/// </summary>
public sealed class QuorumChaosTests(ITestOutputHelper output)
{
    private const int DefaultSeeds = 120;
    private const int SoakSeeds = 1000;

    public static TheoryData<int> SeedBatches()
    {
        var data = new TheoryData<int>();
        if (Environment.GetEnvironmentVariable("KV_SIM_SEED") is { Length: > 0 }) data.Add(-1);
        else for (var batch = 0; batch < BatchCount; batch++) data.Add(batch);
        return data;
    }

    private const int BatchCount = 4;

    [Theory]
    [MemberData(nameof(SeedBatches))]
    public void QuorumWrites_UnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge(int batch)
    {
        var seeds = SeedsOf(batch);
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        long acknowledged = 0, attempted = 0, orphaned = 0;
        foreach (var seed in seeds)
        {
            var result = QuorumChaosRun.Execute(new QuorumChaosOptions { Seed = seed });
            acknowledged += result.Acknowledged;
            attempted += result.Attempts.Count;
            orphaned += result.Orphaned;
            if (!result.Passed) failures.Add(QuorumChaosRun.Execute(new QuorumChaosOptions { Seed = seed, TraceLines = 60 }).Describe());
            if (seeds.Count == 1) output.WriteLine(result.Summary());
        }
        output.WriteLine($"{seeds.Count} seeds in {watch.Elapsed.TotalSeconds:0.0} s: {attempted} writes, {acknowledged} acknowledged, {orphaned} orphaned");
        Assert.True(failures.Count == 0, $"{failures.Count} of {seeds.Count} seeds failed:\n" + string.Join("\n", failures));
        Assert.True(acknowledged > attempted / 2, $"only {acknowledged} of {attempted} writes were acknowledged: the workload barely ran");
    }

    private static List<int> SeedsOf(int batch)
    {
        if (batch < 0) return [int.Parse(Environment.GetEnvironmentVariable("KV_SIM_SEED")!, System.Globalization.CultureInfo.InvariantCulture)];
        var total = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? SoakSeeds : DefaultSeeds;
        var seeds = new List<int>();
        for (var seed = 1 + batch; seed <= total; seed += BatchCount) seeds.Add(seed);
        return seeds;
    }
}
