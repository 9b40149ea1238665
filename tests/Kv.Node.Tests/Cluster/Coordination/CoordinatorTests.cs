using System.Text;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Replica;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster.Coordination;

public sealed class CoordinatorTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static Task<long> Set(TestNode node, string key, string value, ConsistencyLevel level) =>
        node.Coordinator.WriteAsync(B(key), MutationKind.Value, B(value), 0, level).AsTask();

    private static async Task<string?> Get(TestNode node, string key, ConsistencyLevel level)
    {
        var cell = await node.Coordinator.ReadAsync(B(key), level);
        return cell.IsLive(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) ? Encoding.UTF8.GetString(cell.Value.Span) : null;
    }

    [Fact]
    public async Task WriteAndRead_QuorumWithOneOfThreeDown_Succeed()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StopAsync(cluster.Nodes[2]);
        for (var i = 0; i < 20; i++) await Set(cluster.Nodes[i % 2], "k" + i, "v" + i, ConsistencyLevel.Quorum);
        for (var i = 0; i < 20; i++) Assert.Equal("v" + i, await Get(cluster.Nodes[(i + 1) % 2], "k" + i, ConsistencyLevel.Quorum));
    }

    [Fact]
    public async Task Write_AllWithOneDown_FailsWithUnavailable()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StopAsync(cluster.Nodes[1]);
        var e = await Assert.ThrowsAsync<UnavailableException>(() => Set(cluster.Nodes[0], "k", "v", ConsistencyLevel.All));
        Assert.Equal("UNAVAILABLE", e.ErrorCode);
        Assert.Contains("needs 3 of 3 replicas but only 2 are up", e.Message);
        await Assert.ThrowsAsync<UnavailableException>(() => Get(cluster.Nodes[0], "k", ConsistencyLevel.All));
    }

    [Fact]
    public async Task Write_AllWithUndetectedDeadReplica_TimesOutSayingHowManyAcked()
    {
        await using var cluster = await TestCluster.StartAsync();
        // Down, but the failure detector has not noticed: the coordinator tries it and times out.
        await cluster.Nodes[2].StopAsync();
        var e = await Assert.ThrowsAsync<ReplicaTimeoutException>(() => Set(cluster.Nodes[0], "k", "v", ConsistencyLevel.All));
        Assert.Equal("TIMEOUT", e.ErrorCode);
        Assert.Equal(2, e.Acknowledged);
        Assert.Contains("2 of 3 required replicas acknowledged", e.Message);
    }

    [Fact]
    public async Task WriteAndRead_OneWithTwoDown_Succeed()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StopAsync(cluster.Nodes[1]);
        await cluster.StopAsync(cluster.Nodes[2]);
        await Set(cluster.Nodes[0], "solo", "x", ConsistencyLevel.One);
        Assert.Equal("x", await Get(cluster.Nodes[0], "solo", ConsistencyLevel.One));
        await Assert.ThrowsAsync<UnavailableException>(() => Set(cluster.Nodes[0], "q", "x", ConsistencyLevel.Quorum));
    }

    [Fact]
    public async Task Requests_RingWithFewerNodesThanTheReplicationFactor_CountLevelsAgainstTheFactor()
    {
        // Two nodes at RF 3: each key has two replicas. QUORUM is still 2 of RF 3 and ALL is 3, so ALL cannot be met
        // (it used to mean "both replicas there are", acknowledging fewer copies than the client asked for).
        await using var cluster = await TestCluster.StartAsync(nodes: 2, replicationFactor: 3);
        await Set(cluster.Nodes[0], "k", "v", ConsistencyLevel.Quorum);
        Assert.Equal("v", await Get(cluster.Nodes[1], "k", ConsistencyLevel.Quorum));
        var e = await Assert.ThrowsAsync<UnavailableException>(() => Set(cluster.Nodes[0], "k", "w", ConsistencyLevel.All));
        Assert.Contains("needs 3 replicas but the ring has only 2 for this key", e.Message);
        await Assert.ThrowsAsync<UnavailableException>(() => Get(cluster.Nodes[0], "k", ConsistencyLevel.All));

        // One node down leaves one replica: QUORUM (2 of RF 3) is unavailable, ONE still works.
        await cluster.StopAsync(cluster.Nodes[1]);
        var q = await Assert.ThrowsAsync<UnavailableException>(() => Set(cluster.Nodes[0], "k", "w", ConsistencyLevel.Quorum));
        Assert.Contains("needs 2 of 2 replicas but only 1 are up", q.Message);
        await Set(cluster.Nodes[0], "k", "w", ConsistencyLevel.One);
        Assert.Equal("w", await Get(cluster.Nodes[0], "k", ConsistencyLevel.One));
    }

    [Fact]
    public async Task Write_AnyWithEveryOtherReplicaDown_CountsHints()
    {
        await using var cluster = await TestCluster.StartAsync();
        await cluster.StopAsync(cluster.Nodes[1]);
        await cluster.StopAsync(cluster.Nodes[2]);
        await Set(cluster.Nodes[0], "a", "1", ConsistencyLevel.Any);
        Assert.Equal(2, cluster.Nodes[0].Handoff!.HintsStored);
    }

    [Fact]
    public async Task Write_SloppyQuorumWithTwoOfThreeReplicasDown_FallbacksHoldHintsThatReachTheReplicasLater()
    {
        var options = new CoordinatorOptions { WriteTimeout = TimeSpan.FromSeconds(1), ReadTimeout = TimeSpan.FromSeconds(1), SloppyQuorum = true };
        await using var cluster = await TestCluster.StartAsync(nodes: 5, options: options);
        var coordinator = cluster.Nodes[0];
        // A key whose replicas are the coordinator and two other nodes; take those two down.
        var key = Enumerable.Range(0, 100).Select(i => "s" + i)
            .First(k => coordinator.Coordinator.ReplicasOf(Coordinator.StorageKeyOf(B(k))).Contains(coordinator.Address));
        var replicas = coordinator.Coordinator.ReplicasOf(Coordinator.StorageKeyOf(B(key)));
        var down = cluster.Nodes.Where(n => n != coordinator && replicas.Contains(n.Address)).ToList();
        Assert.Equal(2, down.Count);
        foreach (var n in down) await cluster.StopAsync(n);

        await Set(coordinator, key, "v", ConsistencyLevel.Quorum);
        // QUORUM answered after this node and one fallback's hint; each down replica gets a fallback, so once the
        // writes still in flight are done, two fallbacks hold hints.
        Assert.True(coordinator.Coordinator.FallbackWrites >= 1);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (coordinator.Coordinator.PendingReplicaWrites > 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(2, coordinator.Coordinator.FallbackWrites);
        var fallbacks = cluster.Nodes.Where(n => n != coordinator && !down.Contains(n)).ToList();
        Assert.All(down, d => Assert.Contains(fallbacks, f => f.Handoff!.Store.PendingBytes(d.Address) > 0));
        Assert.All(fallbacks, f => Assert.Equal(ReadOutcome.Absent, f.Local(key).Outcome)); // a hint, not a replica's data
        // ALL stays strict.
        await Assert.ThrowsAsync<UnavailableException>(() => Set(coordinator, key, "w", ConsistencyLevel.All));

        foreach (var n in down) cluster.Restart(n);
        foreach (var f in cluster.Nodes.Where(n => n.IsRunning))
            foreach (var d in down) await f.Handoff!.ReplayAsync(d.Address);
        foreach (var d in down) Assert.Equal("v", Encoding.UTF8.GetString(d.Local(key).Value.Span));
    }

    [Fact]
    public async Task Write_StrictQuorumWithTwoOfThreeReplicasDown_IsUnavailableEvenWithOtherNodesUp()
    {
        await using var cluster = await TestCluster.StartAsync(nodes: 5);
        var coordinator = cluster.Nodes[0];
        var replicas = coordinator.Coordinator.ReplicasOf(Coordinator.StorageKeyOf(B("s0")));
        foreach (var n in cluster.Nodes.Where(n => n != coordinator && replicas.Contains(n.Address)).ToList()) await cluster.StopAsync(n);
        await Assert.ThrowsAsync<UnavailableException>(() => Set(coordinator, "s0", "v", ConsistencyLevel.Quorum));
        Assert.Equal(0, coordinator.Coordinator.FallbackWrites);
    }

    [Fact]
    public async Task Restart_StoppedReplica_ReceivesItsHintsInOrder()
    {
        await using var cluster = await TestCluster.StartAsync();
        var down = cluster.Nodes[2];
        await cluster.StopAsync(down);
        for (var i = 0; i < 10; i++) await Set(cluster.Nodes[0], "h" + i, "first" + i, ConsistencyLevel.Quorum);
        for (var i = 0; i < 10; i++) await Set(cluster.Nodes[0], "h" + i, "second" + i, ConsistencyLevel.Quorum);
        Assert.Equal(ReadOutcome.Absent, down.Local("h0").Outcome);
        Assert.True(cluster.Nodes[0].Handoff!.Store.PendingBytes(down.Address) > 0);

        cluster.Restart(down);
        await cluster.Nodes[0].Handoff!.ReplayAsync(down.Address);

        for (var i = 0; i < 10; i++) Assert.Equal("second" + i, Encoding.UTF8.GetString(down.Local("h" + i).Value.Span));
        Assert.Equal(0, cluster.Nodes[0].Handoff!.Store.PendingBytes(down.Address));
        Assert.Equal(20, cluster.Nodes[0].Handoff!.HintsDelivered);
    }

    [Fact]
    public async Task Write_CallersValueReusedAfterQuorumAnswered_HintForTheSlowReplicaKeepsTheWrittenValue()
    {
        await using var cluster = await TestCluster.StartAsync();
        var down = cluster.Nodes[2];
        var coordinator = cluster.Nodes[0];
        // Down, but not yet detected: the third send times out after QUORUM answered, and only then is it hinted.
        await down.StopAsync();
        var value = B("precious");
        await coordinator.Coordinator.WriteAsync(B("k"), MutationKind.Value, value, 0, ConsistencyLevel.Quorum);
        // The caller's buffer is free once the write answered (a RESP connection reuses its input buffer for the next request).
        value.AsSpan().Fill((byte)'z'); // sorts after "precious": a garbage hint would win the timestamp tie
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (coordinator.Coordinator.PendingReplicaWrites > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, coordinator.Coordinator.PendingReplicaWrites);

        cluster.Restart(down);
        await coordinator.Handoff!.ReplayAsync(down.Address);
        Assert.Equal("precious", Encoding.UTF8.GetString(down.Local("k").Value.Span));
    }

    [Fact]
    public async Task Write_ManyConcurrentQuorumWrites_EveryReplicaGetsEveryWrite()
    {
        await using var cluster = await TestCluster.StartAsync();
        var coordinator = cluster.Nodes[0];
        await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Set(coordinator, "b" + i, "v" + i, ConsistencyLevel.Quorum)));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (coordinator.Coordinator.PendingReplicaWrites > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        foreach (var node in cluster.Nodes)
            for (var i = 0; i < 400; i++) Assert.Equal("v" + i, Encoding.UTF8.GetString(node.Local("b" + i).Value.Span));
        Assert.Equal(0, coordinator.Handoff!.HintsStored);
    }

    [Fact]
    public async Task Write_ConcurrentWritesWithUndetectedDeadReplica_AllSucceedAtQuorumAndEachIsHintedOnce()
    {
        await using var cluster = await TestCluster.StartAsync();
        var down = cluster.Nodes[2];
        var coordinator = cluster.Nodes[0];
        await down.StopAsync(); // the failure detector has not noticed: requests to it time out
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Set(coordinator, "d" + i, "v" + i, ConsistencyLevel.Quorum)));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (coordinator.Coordinator.PendingReplicaWrites > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(0, coordinator.Coordinator.PendingReplicaWrites);
        Assert.Equal(100, coordinator.Handoff!.HintsStored);

        cluster.Restart(down);
        await coordinator.Handoff.ReplayAsync(down.Address);
        for (var i = 0; i < 100; i++) Assert.Equal("v" + i, Encoding.UTF8.GetString(down.Local("d" + i).Value.Span));
    }

    [Fact]
    public async Task Hints_CoordinatorRestarted_AreStillDelivered()
    {
        await using var cluster = await TestCluster.StartAsync();
        var down = cluster.Nodes[2];
        var coordinator = cluster.Nodes[0];
        await cluster.StopAsync(down);
        await Set(coordinator, "durable", "yes", ConsistencyLevel.Quorum);

        // The coordinator restarts too: only its hint files carry the missed write.
        await coordinator.StopAsync();
        coordinator.Start(coordinator.Address.Port);
        cluster.Restart(down);
        coordinator.Handoff!.ReplayAllAlive();
        await coordinator.Handoff.ReplayAsync(down.Address);

        Assert.Equal("yes", Encoding.UTF8.GetString(down.Local("durable").Value.Span));
    }

    [Fact]
    public async Task Read_QuorumWithStaleReplica_RepairsItBeforeAnswering()
    {
        await using var cluster = await TestCluster.StartAsync();
        await Set(cluster.Nodes[0], "r", "old", ConsistencyLevel.All);
        // A newer version reaches only node 1 (as if the other writes were lost and not hinted).
        var newer = new MutationRequest(Coordinator.StorageKeyOf(B("r")), B("new"), cluster.Nodes[0].Clock.Now(), 0, MutationKind.Value);
        await cluster.Nodes[1].Store.ApplyAsync(newer);

        Assert.Equal("new", await Get(cluster.Nodes[0], "r", ConsistencyLevel.Quorum));
        Assert.Equal("new", Encoding.UTF8.GetString(cluster.Nodes[0].Local("r").Value.Span));
        Assert.True(cluster.Nodes[0].Coordinator.ReadRepairs >= 1);
    }

    [Theory]
    [InlineData(0)] // the replica asked for the value
    [InlineData(1)] // the replica asked for a digest
    public async Task Read_QuorumFromANonReplicaWithAnUndetectedDeadReplica_StillAnswersWithTheValue(int deadReplica)
    {
        // Five nodes at RF 3, so some keys have no replica on node 0: its reads ask remote replicas for the value too.
        await using var cluster = await TestCluster.StartAsync(nodes: 5);
        var coordinator = cluster.Nodes[0];
        var key = Enumerable.Range(0, 1000).Select(i => "far" + i)
            .First(k => !coordinator.Coordinator.ReplicasOf(Coordinator.StorageKeyOf(B(k))).Contains(coordinator.Address));
        await Set(coordinator, key, "v", ConsistencyLevel.All);
        var replicas = coordinator.Coordinator.ReplicasOf(Coordinator.StorageKeyOf(B(key)));
        // Down, but the failure detector has not noticed: round one's request to it times out, and the read goes on
        // with the two that answer.
        await cluster.Nodes.Single(n => n.Address == replicas[deadReplica]).StopAsync();

        Assert.Equal("v", await Get(coordinator, key, ConsistencyLevel.Quorum));
        Assert.Equal("v", await Get(coordinator, key, ConsistencyLevel.One));
        await Assert.ThrowsAsync<ReplicaTimeoutException>(() => Get(coordinator, key, ConsistencyLevel.All));
    }

    [Fact]
    public async Task Read_DeletedKey_TombstoneWinsAndIsRepaired()
    {
        await using var cluster = await TestCluster.StartAsync();
        await Set(cluster.Nodes[0], "d", "v", ConsistencyLevel.All);
        await cluster.Nodes[0].Coordinator.WriteAsync(B("d"), MutationKind.Tombstone, default, 0, ConsistencyLevel.One);
        // Read through another node at ALL: everyone must end with the tombstone.
        Assert.Null(await Get(cluster.Nodes[1], "d", ConsistencyLevel.All));
        foreach (var n in cluster.Nodes) Assert.Equal(ReadOutcome.Deleted, n.Local("d").Outcome);
    }

    [Fact]
    public void Supersedes_EqualTimestamps_TombstoneThenLargerValueWins()
    {
        var a = new ReplicaCell(ReadOutcome.Found, 5, 0, B("a"));
        var b = new ReplicaCell(ReadOutcome.Found, 5, 0, B("b"));
        var t = new ReplicaCell(ReadOutcome.Deleted, 5, 0, default);
        var older = new ReplicaCell(ReadOutcome.Found, 4, 0, B("z"));
        Assert.True(ReplicaCell.Supersedes(b, a));
        Assert.False(ReplicaCell.Supersedes(a, b));
        Assert.True(ReplicaCell.Supersedes(t, b));
        Assert.True(ReplicaCell.Supersedes(a, older));
        Assert.True(ReplicaCell.Supersedes(older, ReplicaCell.Absent));
    }

    [Theory]
    [InlineData(ConsistencyLevel.One, 3, 1)]
    [InlineData(ConsistencyLevel.Two, 3, 2)]
    [InlineData(ConsistencyLevel.Quorum, 3, 2)]
    [InlineData(ConsistencyLevel.Quorum, 5, 3)]
    [InlineData(ConsistencyLevel.All, 3, 3)]
    [InlineData(ConsistencyLevel.Two, 1, 2)]
    [InlineData(ConsistencyLevel.Any, 3, 1)]
    public void BlockFor_Level_RequiresExpectedReplicas(ConsistencyLevel level, int replicationFactor, int expected) =>
        Assert.Equal(expected, level.BlockFor(replicationFactor));
}
