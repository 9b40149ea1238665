using Kv.Node.Cluster.Messaging;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster;

public class ReplicaVerbsTests
{
    [Fact]
    public async Task ReplicaVerbs_EachVerb_ReachesItsOwnHandler()
    {
        var network = new LoopbackNetwork();
        var coordinator = new MessagingService(network.Add("coordinator"));
        var replicaTransport = network.Add("replica");
        var replica = new MessagingService(replicaTransport);
        var seen = new List<string>();
        replica.ServeMutations((_, m, _) => { seen.Add($"mutation {m.Timestamp}"); return ValueTask.FromResult(MutationResponse.Applied); });
        replica.ServeHints((_, m, _) => { seen.Add($"hint {m.Timestamp}"); return ValueTask.FromResult(MutationResponse.Applied); });
        replica.ServeReads((_, r, _) => { seen.Add($"read {r.DigestOnly}"); return ValueTask.FromResult(ReadResponse.Absent); });
        replica.ServeRangeScans((_, s, _) => { seen.Add($"scan {s.Limit}"); return ValueTask.FromResult(new RangeScanResponse([], ReadOnlyMemory<byte>.Empty)); });

        var to = replicaTransport.LocalAddress;
        var timeout = TimeSpan.FromSeconds(5);
        Assert.True((await coordinator.SendMutationAsync(to, new MutationRequest(new byte[] { 1 }, new byte[] { 2 }, 10, 0, MutationKind.Value), timeout)).Ok);
        Assert.True((await coordinator.SendHintAsync(to, new MutationRequest(new byte[] { 1 }, default, 11, 0, MutationKind.Tombstone), timeout)).Ok);
        Assert.Equal(ReadOutcome.Absent, (await coordinator.SendReadAsync(to, new ReadRequest(new byte[] { 1 }, true), timeout)).Outcome);
        Assert.True((await coordinator.SendRangeScanAsync(to, new RangeScanRequest(default, default, 50, false), timeout)).IsComplete);

        Assert.Equal(["mutation 10", "hint 11", "read True", "scan 50"], seen);
    }
}
