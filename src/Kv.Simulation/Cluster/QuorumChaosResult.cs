using System.Text;

namespace Kv.Simulation.Cluster;

/// <summary>The outcome of one <see cref="QuorumChaosRun"/>: what was written, what was checked, and the run's fingerprint.</summary>
public sealed class QuorumChaosResult(int seed, bool sloppyQuorum, string replayFilter, IReadOnlyList<WriteAttempt> attempts)
{
    public int Seed { get; } = seed;

    /// <summary>Whether the cluster ran with sloppy quorum (fallback nodes' hints counted toward W).</summary>
    public bool SloppyQuorum { get; } = sloppyQuorum;

    public IReadOnlyList<WriteAttempt> Attempts { get; } = attempts;

    /// <summary>Why the run could not reach its checks (null when it did).</summary>
    public string? Error { get; private set; }

    public ChaosSchedule? Schedule { get; internal set; }

    public IReadOnlyList<string> FaultLog { get; internal set; } = [];

    /// <summary>Non-orphaned keys whose replicas disagree once hints were delivered.</summary>
    public IReadOnlyList<string> DivergentByHints { get; internal set; } = [];

    /// <summary>Acknowledged writes a QUORUM read did not return.</summary>
    public IReadOnlyList<string> Lost { get; internal set; } = [];

    public List<string> ReadFailures { get; internal set; } = [];

    /// <summary>Keys whose replicas still disagree after orphans were read (and repaired) at ALL.</summary>
    public IReadOnlyList<string> DivergentAfterRepair { get; internal set; } = [];

    public ulong TraceHash { get; internal set; }

    public long TraceCount { get; internal set; }

    public IReadOnlyList<string> TraceTail { get; internal set; } = [];

    public long Events { get; internal set; }

    public TimeSpan VirtualTime { get; internal set; }

    public TimeSpan HealedAfter { get; internal set; }

    public long HintsStored { get; private set; }

    public long HintsDelivered { get; private set; }

    public long ReadRepairs { get; private set; }

    /// <summary>Replica writes that went to a fallback node instead (sloppy quorum), on the last incarnations.</summary>
    public long FallbackWrites { get; private set; }

    public int Acknowledged => Count(WriteOutcome.Acknowledged);

    public int Failed => Count(WriteOutcome.Failed);

    public int Orphaned
    {
        get
        {
            var n = 0;
            foreach (var a in Attempts) if (a.Orphaned) n++;
            return n;
        }
    }

    /// <summary>Every check passed.</summary>
    public bool Passed => Error is null && DivergentByHints.Count == 0 && Lost.Count == 0 && ReadFailures.Count == 0 && DivergentAfterRepair.Count == 0;

    /// <summary>The acknowledged keys in order, as one string (two runs of one seed must give the same).</summary>
    public string AcknowledgedKeys()
    {
        var text = new StringBuilder();
        foreach (var a in Attempts) if (a.Outcome == WriteOutcome.Acknowledged) text.Append(a.Key).Append('@').Append(a.Timestamp).Append(' ');
        return text.ToString();
    }

    internal QuorumChaosResult Fail(string error)
    {
        Error = error;
        return this;
    }

    internal void Finish(SimulatedKvCluster cluster, Simulation simulation)
    {
        for (var i = 0; i < cluster.Nodes.Count; i++)
        {
            if (cluster.Software(i) is not { } node) continue;
            HintsStored += node.HintedHandoff.HintsStored;
            HintsDelivered += node.HintedHandoff.HintsDelivered;
            ReadRepairs += node.Coordinator.ReadRepairs;
            FallbackWrites += node.Coordinator.FallbackWrites;
        }
    }

    private int Count(WriteOutcome outcome)
    {
        var n = 0;
        foreach (var a in Attempts) if (a.Outcome == outcome) n++;
        return n;
    }

    public string Summary() =>
        $"seed {Seed}{(SloppyQuorum ? " (sloppy quorum)" : "")}: {Attempts.Count} writes, {Acknowledged} acknowledged, {Failed} failed, {Orphaned} orphaned by a coordinator crash; " +
        $"healed and settled at {HealedAfter.TotalSeconds:0.0}s; hints stored/delivered (last incarnations) {HintsStored}/{HintsDelivered}; fallback writes {FallbackWrites}; read repairs {ReadRepairs}; " +
        $"{Events} events, {VirtualTime.TotalSeconds:0.0}s virtual; trace {TraceCount} records, hash {TraceHash:x16}";

    /// <summary>Everything a failing test prints: the checks that failed, the fault log, and how to replay the seed.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(Summary());
        if (Error is not null) text.AppendLine("ERROR: " + Error);
        Section(text, "LOST acknowledged writes", Lost);
        Section(text, "replicas diverge after hint delivery", DivergentByHints);
        Section(text, "read failures after healing", ReadFailures);
        Section(text, "replicas diverge after read repair", DivergentAfterRepair);
        text.AppendLine("fault log:");
        foreach (var line in FaultLog) text.AppendLine("  " + line);
        if (TraceTail.Count > 0)
        {
            text.AppendLine("trace tail:");
            foreach (var line in TraceTail) text.AppendLine("  " + line);
        }
        text.AppendLine($"replay: KV_SIM_SEED={Seed} dotnet test tests/Kv.Simulation.Tests -c Release --filter \"{replayFilter}\" --logger \"console;verbosity=detailed\"");
        return text.ToString();
    }

    private static void Section(StringBuilder text, string title, IReadOnlyList<string> lines)
    {
        if (lines.Count == 0) return;
        text.AppendLine($"{title} ({lines.Count}):");
        for (var i = 0; i < Math.Min(20, lines.Count); i++) text.AppendLine("  " + lines[i]);
        if (lines.Count > 20) text.AppendLine($"  ... and {lines.Count - 20} more");
    }
}
