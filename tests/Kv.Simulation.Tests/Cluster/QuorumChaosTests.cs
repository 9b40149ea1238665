using System.Diagnostics;
using Kv.Simulation.Cluster;
using Xunit.Abstractions;

namespace Kv.Simulation.Tests.Cluster;

/// <summary>
/// Issue 6's simulator test: hundreds of seeded runs of unique QUORUM writes through random coordinators while
/// nodes crash, restart, pause, get partitioned and slowed; after healing no acknowledged write is lost and the
/// replicas converge. Strict quorum (the default of a node) and sloppy quorum (fallback nodes' hints count toward W).
/// Default suite: <see cref="StrictSeeds"/> + <see cref="SloppySeeds"/> seeds; KV_SOAK=1 runs
/// <see cref="SoakFactor"/> times as many; KV_SIM_SEED=n runs only seed n (of the test the filter selects).
/// </summary>
public sealed class QuorumChaosTests(ITestOutputHelper output)
{
    private const int StrictSeeds = 800;
    private const int SloppySeeds = 200;
    private const int SoakFactor = 10;
    private const int BatchCount = 4;

    public static TheoryData<int> SeedBatches()
    {
        var data = new TheoryData<int>();
        if (Environment.GetEnvironmentVariable("KV_SIM_SEED") is { Length: > 0 }) data.Add(-1);
        else for (var batch = 0; batch < BatchCount; batch++) data.Add(batch);
        return data;
    }

    [Theory]
    [MemberData(nameof(SeedBatches))]
    public void QuorumWrites_UnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge(int batch) =>
        RunBatch(SeedsOf(batch, StrictSeeds), sloppyQuorum: false);

    [Theory]
    [MemberData(nameof(SeedBatches))]
    public void SloppyQuorumWrites_UnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge(int batch) =>
        RunBatch(SeedsOf(batch, SloppySeeds), sloppyQuorum: true);

    private void RunBatch(List<int> seeds, bool sloppyQuorum)
    {
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        long acknowledged = 0, attempted = 0, orphaned = 0, fallbacks = 0;
        foreach (var seed in seeds)
        {
            var result = QuorumChaosRun.Execute(Options(seed, sloppyQuorum, traceLines: 0));
            acknowledged += result.Acknowledged;
            attempted += result.Attempts.Count;
            orphaned += result.Orphaned;
            fallbacks += result.FallbackWrites;
            if (!result.Passed) failures.Add(QuorumChaosRun.Execute(Options(seed, sloppyQuorum, traceLines: 60)).Describe());
            if (seeds.Count == 1) output.WriteLine(result.Summary());
        }
        output.WriteLine($"{seeds.Count} seeds in {watch.Elapsed.TotalSeconds:0.0} s: {attempted} writes, {acknowledged} acknowledged, {orphaned} orphaned, {fallbacks} fallback writes");
        Assert.True(failures.Count == 0, $"{failures.Count} of {seeds.Count} seeds failed:\n" + string.Join("\n", failures));
        Assert.True(acknowledged > attempted / 2, $"only {acknowledged} of {attempted} writes were acknowledged: the workload barely ran");
        // A sloppy batch where no write ever went to a fallback would test strict quorum twice.
        if (sloppyQuorum && seeds.Count > 1) Assert.True(fallbacks > 0, "no write went to a fallback node: the sloppy-quorum path never ran");
    }

    private static QuorumChaosOptions Options(int seed, bool sloppyQuorum, int traceLines) => new()
    {
        Seed = seed,
        Cluster = new KvClusterOptions { SloppyQuorum = sloppyQuorum },
        TraceLines = traceLines,
    };

    private static List<int> SeedsOf(int batch, int defaultSeeds)
    {
        if (batch < 0) return [int.Parse(Environment.GetEnvironmentVariable("KV_SIM_SEED")!, System.Globalization.CultureInfo.InvariantCulture)];
        var total = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? defaultSeeds * SoakFactor : defaultSeeds;
        var seeds = new List<int>();
        for (var seed = 1 + batch; seed <= total; seed += BatchCount) seeds.Add(seed);
        return seeds;
    }
}
