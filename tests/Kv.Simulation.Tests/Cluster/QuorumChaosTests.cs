using System.Diagnostics;
using Kv.Simulation.Cluster;
using Xunit.Abstractions;

namespace Kv.Simulation.Tests.Cluster;

/// <summary>
/// Issue 6's simulator test: hundreds of seeded runs of unique QUORUM writes through random coordinators while
/// nodes crash, restart, pause, get partitioned and slowed; after healing no acknowledged write is lost and the
/// replicas converge. Strict quorum (the default of a node) and sloppy quorum (fallback nodes' hints count toward W)
/// on the 5-node cluster, and clusters whose shape (3-7 nodes, racks, fault count, write timeout, skewed clocks,
/// strict or sloppy) is drawn from the seed.
/// Default suite: <see cref="StrictSeeds"/> + <see cref="SloppySeeds"/> + <see cref="VariedSeeds"/> seeds; KV_SOAK=1
/// runs <see cref="SoakFactor"/> times as many; KV_SIM_SEED=n runs only seed n (of the test the filter selects).
/// </summary>
public sealed class QuorumChaosTests(ITestOutputHelper output)
{
    private const int StrictSeeds = 700;
    private const int SloppySeeds = 200;
    private const int VariedSeeds = 100;
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

    [Theory]
    [MemberData(nameof(SeedBatches))]
    public void QuorumWrites_VariedClustersUnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge(int batch) =>
        RunBatch(SeedsOf(batch, VariedSeeds), Varied, requireFallbacks: false);

    private void RunBatch(List<int> seeds, bool sloppyQuorum) =>
        RunBatch(seeds, (seed, traceLines) => Options(seed, sloppyQuorum, traceLines), requireFallbacks: sloppyQuorum);

    /// <param name="options">The options of a seed, keeping this many trace lines.</param>
    /// <param name="requireFallbacks">Whether the batch must have sent writes to fallback nodes (sloppy quorum).</param>
    private void RunBatch(List<int> seeds, Func<int, int, QuorumChaosOptions> options, bool requireFallbacks)
    {
        var failures = new List<string>();
        var watch = Stopwatch.StartNew();
        long acknowledged = 0, attempted = 0, orphaned = 0, fallbacks = 0;
        foreach (var seed in seeds)
        {
            var result = QuorumChaosRun.Execute(options(seed, 0));
            acknowledged += result.Acknowledged;
            attempted += result.Attempts.Count;
            orphaned += result.Orphaned;
            fallbacks += result.FallbackWrites;
            if (!result.Passed) failures.Add(QuorumChaosRun.Execute(options(seed, 60)).Describe());
            if (seeds.Count == 1) output.WriteLine(result.Summary());
        }
        output.WriteLine($"{seeds.Count} seeds in {watch.Elapsed.TotalSeconds:0.0} s: {attempted} writes, {acknowledged} acknowledged, {orphaned} orphaned, {fallbacks} fallback writes");
        Assert.True(failures.Count == 0, $"{failures.Count} of {seeds.Count} seeds failed:\n" + string.Join("\n", failures));
        Assert.True(acknowledged > attempted / 2, $"only {acknowledged} of {attempted} writes were acknowledged: the workload barely ran");
        // A sloppy batch where no write ever went to a fallback would test strict quorum twice.
        if (requireFallbacks && seeds.Count > 1) Assert.True(fallbacks > 0, "no write went to a fallback node: the sloppy-quorum path never ran");
    }

    private static QuorumChaosOptions Options(int seed, bool sloppyQuorum, int traceLines) => new()
    {
        Seed = seed,
        Cluster = new KvClusterOptions { SloppyQuorum = sloppyQuorum },
        TraceLines = traceLines,
        ReplayFilter = "FullyQualifiedName~QuorumChaosTests." + (sloppyQuorum ? nameof(SloppyQuorumWrites_UnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge) : nameof(QuorumWrites_UnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge)),
    };

    /// <summary>A cluster shape drawn from the seed alone, so KV_SIM_SEED replays it.</summary>
    private static QuorumChaosOptions Varied(int seed, int traceLines)
    {
        var shape = new Random(seed);
        var nodes = 3 + shape.Next(5);
        var offsets = new TimeSpan[nodes];
        for (var i = 0; i < nodes; i++) offsets[i] = shape.Next(2) == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(shape.Next(-3000, 3001));
        return new QuorumChaosOptions
        {
            Seed = seed,
            Faults = 4 + shape.Next(17),
            ClockOffsets = offsets,
            Cluster = new KvClusterOptions
            {
                Nodes = nodes,
                Racks = 1 + shape.Next(3),
                SloppyQuorum = shape.Next(2) == 0,
                WriteTimeout = TimeSpan.FromMilliseconds(500 + shape.Next(1501)),
            },
            TraceLines = traceLines,
            ReplayFilter = "FullyQualifiedName~QuorumChaosTests." + nameof(QuorumWrites_VariedClustersUnderSeededFaults_NoAcknowledgedWriteLostAndReplicasConverge),
        };
    }

    private static List<int> SeedsOf(int batch, int defaultSeeds)
    {
        if (batch < 0) return [int.Parse(Environment.GetEnvironmentVariable("KV_SIM_SEED")!, System.Globalization.CultureInfo.InvariantCulture)];
        var total = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? defaultSeeds * SoakFactor : defaultSeeds;
        var seeds = new List<int>();
        for (var seed = 1 + batch; seed <= total; seed += BatchCount) seeds.Add(seed);
        return seeds;
    }
}
