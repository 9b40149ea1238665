using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Replica;
using Kv.Node.Resp.Net;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Simulation.Cluster;

/// <summary>
/// The chaos workload of issue 6, on a <see cref="SimulatedKvCluster"/>: unique keys written at a consistency
/// level (QUORUM) through random coordinators while a seeded <see cref="ChaosSchedule"/> crashes, restarts,
/// pauses, partitions and slows nodes. Then every fault is healed, the cluster settles (gossip agrees with
/// reality, replica writes resolved, hints delivered) and the run checks, in order:
/// <list type="number">
/// <item>convergence by hints: every replica of every attempted key holds the same newest version, except keys
/// orphaned by a coordinator crash (see <see cref="WriteAttempt.Orphaned"/>);</item>
/// <item>zero lost: every acknowledged write reads back at QUORUM with its value;</item>
/// <item>convergence after repair: orphaned keys are read at ALL (blocking read repair), then every replica of
/// every attempted key agrees.</item>
/// </list>
/// </summary>
/// <remarks>Threading: <see cref="Execute"/> drives its own <see cref="Simulation"/> on the calling thread.</remarks>
public sealed class QuorumChaosRun
{
    private readonly QuorumChaosOptions _options;
    private readonly List<WriteAttempt> _attempts = [];

    public QuorumChaosRun(QuorumChaosOptions options) => _options = options;

    /// <summary>Runs one seed on its own simulation thread (see <see cref="SimulationThread"/>).</summary>
    public static QuorumChaosResult Execute(QuorumChaosOptions options) => SimulationThread.Run(new QuorumChaosRun(options).Run);

    private QuorumChaosResult Run()
    {
        var simulation = new Simulation(_options.Seed);
        simulation.Trace.KeepLines = _options.TraceLines;
        using var cluster = new SimulatedKvCluster(simulation, _options.Cluster);
        var result = new QuorumChaosResult(_options.Seed, _options.Cluster.SloppyQuorum, _options.ReplayFilter, _attempts);
        var workloadRandom = simulation.CreateRandom();
        var faultRandom = simulation.CreateRandom();
        ChaosSchedule? chaos = null;
        try
        {
            for (var i = 0; i < cluster.Nodes.Count; i++) cluster.SetClockOffset(i, _options.ClockOffsets is { } o && i < o.Count ? o[i] : TimeSpan.Zero);
            cluster.StartAll();
            if (!simulation.RunUntil(cluster.IsSettled, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(100)))
                return result.Fail("the cluster did not settle (ring known, everyone up) within 2 minutes before the workload");

            chaos = ChaosSchedule.Random(cluster, faultRandom, _options.FaultDuration, _options.Faults);
            result.Schedule = chaos;
            chaos.Install();
            var writes = (int)(_options.FaultDuration.Ticks / _options.WriteInterval.Ticks);
            for (var i = 0; i < writes; i++)
            {
                var index = i;
                simulation.Schedule(_options.WriteInterval * i, () => SubmitWrite(cluster, workloadRandom, index));
            }
            simulation.RunFor(_options.FaultDuration + TimeSpan.FromSeconds(1));
            chaos.HealAll();

            if (!simulation.RunUntil(() => cluster.IsSettled() && cluster.HintsDrained(), _options.SettleLimit, TimeSpan.FromMilliseconds(250)))
                return result.Fail($"after healing, the cluster did not settle and deliver its hints within {_options.SettleLimit.TotalSeconds:0} s of virtual time ({DescribeHints(cluster)})");
            result.HealedAfter = simulation.Now;
            MarkOrphans(chaos);
            if (_attempts.Find(a => a.Error is { } e && e.StartsWith("unexpected", StringComparison.Ordinal)) is { } odd)
                return result.Fail($"a write failed with an exception that is not a clear cluster error: {odd}");

            result.DivergentByHints = Divergent(cluster, orphansToo: false);
            result.Lost = ReadBackAcknowledged(cluster, workloadRandom, out var readFailures);
            result.ReadFailures = readFailures;
            RepairOrphans(cluster, result);
            result.DivergentAfterRepair = Divergent(cluster, orphansToo: true);
            result.Finish(cluster, simulation);
            return result;
        }
        catch (Exception e)
        {
            return result.Fail($"the run threw: {e}");
        }
        finally
        {
            result.FaultLog = chaos?.Log ?? [];
            result.TraceHash = simulation.Trace.Hash;
            result.TraceCount = simulation.Trace.Count;
            result.TraceTail = [.. simulation.Trace.Tail];
            result.Events = simulation.EventsExecuted;
            result.VirtualTime = simulation.Now;
        }
    }

    private void SubmitWrite(SimulatedKvCluster cluster, Random random, int index)
    {
        // A client picks any node it can reach; a crashed node refuses the connection, so the client picks again.
        var candidates = new List<int>(cluster.Nodes.Count);
        for (var i = 0; i < cluster.Nodes.Count; i++) if (cluster.Nodes[i].State != NodeState.Crashed) candidates.Add(i);
        if (candidates.Count == 0) return;
        var id = candidates[random.Next(candidates.Count)];
        var node = cluster.Nodes[id];
        var pipelined = 1 + random.Next(Math.Max(1, _options.MaxPipeline));
        var values = new string[pipelined];
        for (var j = 0; j < pipelined; j++) values[j] = $"v{index}.{j}-{random.Next()}";
        // Owned by the node: a paused node handles it on resume; a node that crashes first never does.
        cluster.Simulation.Schedule(TimeSpan.Zero, () =>
        {
            if (cluster.Software(id) is not { } software) return;
            // One I/O event, as a node's socket thread handles a client's pipelined requests: the coordinator sends the
            // first write to each replica at once and the others together when the event ends.
            IoEvent.Begin();
            try
            {
                for (var j = 0; j < pipelined; j++)
                {
                    var attempt = new WriteAttempt(index, $"key{index}.{j}", values[j], id, node.Incarnation, cluster.Simulation.NowTicks);
                    _attempts.Add(attempt);
                    _ = WriteAsync(cluster, software, attempt);
                }
            }
            finally
            {
                IoEvent.End(NullLogger.Instance);
            }
        }, node);
    }

    private async Task WriteAsync(SimulatedKvCluster cluster, KvNode software, WriteAttempt attempt)
    {
        try
        {
            attempt.Timestamp = await software.Coordinator.WriteAsync(Encoding.UTF8.GetBytes(attempt.Key), MutationKind.Value,
                Encoding.UTF8.GetBytes(attempt.Value), 0, _options.WriteLevel).ConfigureAwait(false);
            attempt.Outcome = WriteOutcome.Acknowledged;
            EnsureOnSimulationThread(attempt);
            cluster.Simulation.Trace.Record(TraceKind.Note, attempt.Coordinator, attempt.Index, 1);
        }
        catch (ClusterRequestException e)
        {
            attempt.Outcome = WriteOutcome.Failed;
            attempt.Error = e.Message;
            EnsureOnSimulationThread(attempt);
            cluster.Simulation.Trace.Record(TraceKind.Note, attempt.Coordinator, attempt.Index, 2);
        }
        catch (Exception e)
        {
            attempt.Outcome = WriteOutcome.Failed;
            attempt.Error = "unexpected " + e;
        }
    }

    private static void EnsureOnSimulationThread(WriteAttempt attempt)
    {
        // A continuation that escaped to the thread pool makes the run nondeterministic: fail it loudly.
        if (!SimulationThread.IsCurrent) attempt.Error = "unexpected thread: the write's continuation left the simulation thread";
    }

    private void MarkOrphans(ChaosSchedule chaos)
    {
        // A coordinator resolves every replica send within the write timeout of running time; a pause stretches that.
        var window = _options.Cluster.WriteTimeout.Ticks + chaos.LongestPause.Ticks + TimeSpan.TicksPerSecond;
        foreach (var attempt in _attempts)
        {
            foreach (var (at, node) in chaos.Crashes)
            {
                if (node == attempt.Coordinator && at >= attempt.StartTicks && at <= attempt.StartTicks + window)
                {
                    attempt.Orphaned = true;
                    break;
                }
            }
        }
    }

    private List<string> Divergent(SimulatedKvCluster cluster, bool orphansToo)
    {
        var divergent = new List<string>();
        foreach (var attempt in _attempts)
        {
            if (attempt.Orphaned && !orphansToo) continue;
            var userKey = Encoding.UTF8.GetBytes(attempt.Key);
            var storageKey = Coordinator.StorageKeyOf(userKey);
            var replicas = cluster.ReplicasOf(userKey);
            ReplicaCell? first = null;
            var agree = true;
            var cells = new StringBuilder();
            foreach (var r in replicas)
            {
                var cell = cluster.StoreOf(r).ReadAsync(storageKey).AsTask().GetAwaiter().GetResult();
                cells.Append($" n{r}={cell.Outcome}@{cell.Timestamp}");
                if (first is null) first = cell;
                else if (first.Value.Outcome != cell.Outcome || first.Value.Digest != cell.Digest) agree = false;
            }
            if (!agree) divergent.Add($"{attempt}: replicas{cells}");
        }
        return divergent;
    }

    private List<string> ReadBackAcknowledged(SimulatedKvCluster cluster, Random random, out List<string> failures)
    {
        var lost = new List<string>();
        var failed = new List<string>();
        var outstanding = 0;
        var inEvent = 0;
        foreach (var attempt in _attempts)
        {
            if (attempt.Outcome != WriteOutcome.Acknowledged) continue;
            var reader = cluster.Software(random.Next(cluster.Nodes.Count))!;
            outstanding++;
            // Reads grouped into I/O events too, so digest reads also travel in replica batches.
            if (inEvent == 0) IoEvent.Begin();
            _ = ReadAsync(reader, attempt);
            if (++inEvent == Math.Max(1, _options.MaxPipeline))
            {
                IoEvent.End(NullLogger.Instance);
                inEvent = 0;
            }
        }
        if (inEvent > 0) IoEvent.End(NullLogger.Instance);
        cluster.Simulation.RunUntil(() => outstanding == 0, TimeSpan.FromMinutes(2));
        if (outstanding > 0) failed.Add($"{outstanding} QUORUM reads never completed");
        failures = failed;
        return lost;

        async Task ReadAsync(KvNode reader, WriteAttempt attempt)
        {
            try
            {
                var cell = await reader.Coordinator.ReadAsync(Encoding.UTF8.GetBytes(attempt.Key), ConsistencyLevel.Quorum).ConfigureAwait(false);
                if (cell.Outcome != ReadOutcome.Found || Encoding.UTF8.GetString(cell.Value.Span) != attempt.Value)
                    lost.Add($"{attempt}: a QUORUM read through n{reader.Id} returned {cell.Outcome}@{cell.Timestamp} '{Encoding.UTF8.GetString(cell.Value.Span)}'");
            }
            catch (Exception e)
            {
                failed.Add($"{attempt}: QUORUM read through n{reader.Id} failed: {e.Message}");
            }
            finally
            {
                outstanding--;
            }
        }
    }

    private void RepairOrphans(SimulatedKvCluster cluster, QuorumChaosResult result)
    {
        var outstanding = 0;
        var reader = cluster.Software(0)!;
        foreach (var attempt in _attempts)
        {
            if (!attempt.Orphaned) continue;
            outstanding++;
            _ = RepairAsync(attempt);
        }
        cluster.Simulation.RunUntil(() => outstanding == 0, TimeSpan.FromMinutes(2));
        if (outstanding > 0) result.ReadFailures.Add($"{outstanding} repairing reads at ALL never completed");

        async Task RepairAsync(WriteAttempt attempt)
        {
            try
            {
                await reader.Coordinator.ReadAsync(Encoding.UTF8.GetBytes(attempt.Key), ConsistencyLevel.All).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                result.ReadFailures.Add($"{attempt}: repairing read at ALL failed: {e.Message}");
            }
            finally
            {
                outstanding--;
            }
        }
    }

    private static string DescribeHints(SimulatedKvCluster cluster)
    {
        var text = new StringBuilder();
        for (var i = 0; i < cluster.Nodes.Count; i++)
        {
            var software = cluster.Software(i);
            text.Append($"n{i} {cluster.Nodes[i].State}");
            if (software is not null) text.Append($" pending writes {software.Coordinator.PendingReplicaWrites}, hint bytes {software.PendingHintBytes()}");
            text.Append("; ");
        }
        text.Append(cluster.IsSettled() ? "gossip settled" : "gossip not settled:");
        for (var observer = 0; observer < cluster.Nodes.Count; observer++)
        {
            if (cluster.Software(observer) is not { } software) continue;
            for (var i = 0; i < cluster.Nodes.Count; i++)
            {
                var state = software.Gossiper.GetEndpointState(cluster.AddressOf(i));
                var up = software.Gossiper.IsAlive(cluster.AddressOf(i));
                if (up != (cluster.Nodes[i].State == NodeState.Running) || state is null || state.Status != Kv.Gossip.Membership.NodeStatus.Normal)
                    text.Append($" n{observer} sees n{i} {(up ? "up" : "down")} {(state is null ? "unknown" : state.ToString() + " " + state.Status)};");
            }
        }
        return text.ToString();
    }
}
