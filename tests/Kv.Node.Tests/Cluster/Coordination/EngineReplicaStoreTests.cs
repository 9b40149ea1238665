using System.Text;
using Kv.Engine;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Replica;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster.Coordination;

public sealed class EngineReplicaStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kv-engine-replica-" + Guid.NewGuid().ToString("N"));

    private static byte[] Key(string k) => Coordinator.StorageKeyOf(Encoding.UTF8.GetBytes(k));

    private static MutationRequest Put(string k, string v, long ts) => new(Key(k), Encoding.UTF8.GetBytes(v), ts, 0, MutationKind.Value);

    [Fact]
    public async Task DescribeEngine_ClusterKeyspaceOverEngine_ReportsCoordinatorAndEngineFields()
    {
        // A cluster node's INFO engine section: the coordinator's figures, then the same engine fields a single node shows.
        await using var cluster = await TestCluster.StartAsync(nodes: 1);
        using var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false });
        var store = new EngineReplicaStore(db);
        await store.ApplyAsync(Put("a", "v", 100));
        var keyspace = new ClusterKeyspace(cluster.Nodes[0].Coordinator, store, cluster.Nodes[0].Handoff);
        var fields = keyspace.DescribeEngine().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("yes", fields["cluster_coordinator"]);
        Assert.Equal("1", fields["engine_grouped_writes"]);
        Assert.Contains("engine_bloom_checks", fields.Keys);
        Assert.Empty(((ILocalReplicaStore)new InMemoryReplicaStore()).DescribeEngine());
    }

    [Fact]
    public async Task ApplyMany_OneEngineWrite_AllDurableAcrossReopen()
    {
        using (var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false }))
        {
            var store = new EngineReplicaStore(db);
            await store.ApplyAsync(Put("b", "old", 50));
            var before = db.GetStats().GroupedWrites;
            MutationRequest[] batch = [Put("a", "1", 100), Put("b", "2", 100), new(Key("c"), ReadOnlyMemory<byte>.Empty, 100, 0, MutationKind.Tombstone)];
            await store.ApplyManyAsync(batch);
            Assert.Equal(before + 1, db.GetStats().GroupedWrites); // one write batch: the replica applies it all or none
        }
        using (var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false }))
        {
            var store = new EngineReplicaStore(db);
            Assert.Equal("1", Encoding.UTF8.GetString((await store.ReadAsync(Key("a"))).Value.Span));
            Assert.Equal("2", Encoding.UTF8.GetString((await store.ReadAsync(Key("b"))).Value.Span));
            Assert.Equal(ReadOutcome.Deleted, (await store.ReadAsync(Key("c"))).Outcome);
        }
    }

    [Fact]
    public async Task Apply_OlderAfterNewer_NewestWinsAndSurvivesReopen()
    {
        using (var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false }))
        {
            var store = new EngineReplicaStore(db);
            await store.ApplyAsync(Put("a", "new", 200));
            await store.ApplyAsync(Put("a", "old", 100));
            await store.ApplyAsync(Put("b", "x", 100));
            await store.ApplyAsync(new MutationRequest(Key("b"), default, 150, 0, MutationKind.Tombstone));
        }
        using (var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false }))
        {
            var store = new EngineReplicaStore(db);
            var a = await store.ReadAsync(Key("a"));
            Assert.Equal(ReadOutcome.Found, a.Outcome);
            Assert.Equal(200, a.Timestamp);
            Assert.Equal("new", Encoding.UTF8.GetString(a.Value.Span));
            var b = await store.ReadAsync(Key("b"));
            Assert.Equal(ReadOutcome.Deleted, b.Outcome);
            Assert.Equal(150, b.Timestamp);

            var page = await store.ScanAsync(default, default, 10, includeTombstones: true);
            Assert.Equal(2, page.Rows.Length);
            Assert.True(page.IsComplete);
            var live = await store.ScanAsync(default, default, 10, includeTombstones: false);
            Assert.Single(live.Rows);
            Assert.Equal(1, store.EstimateKeyCount());
        }
    }

    [Fact]
    public async Task EstimateKeyCount_SmallStore_CountsLiveKeysOnTheCallersThread()
    {
        // No reuse window (it is ten times the last scan's time by default, which a test cannot pin down).
        using var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false });
        var store = new EngineReplicaStore(db) { KeyCountCostFactor = 0 };
        Assert.Equal(0, store.EstimateKeyCount());
        await store.ApplyAsync(Put("a", "1", 100));
        await store.ApplyAsync(Put("b", "1", 100));
        await store.ApplyAsync(new MutationRequest(Key("b"), default, 150, 0, MutationKind.Tombstone));
        Assert.Equal(1, store.EstimateKeyCount());
        await store.ApplyAsync(Put("c", "1", 100));
        Assert.Equal(2, store.EstimateKeyCount());
    }

    [Fact]
    public async Task EstimateKeyCount_LargeStore_AnswersAtOnceAndCountsInTheBackground()
    {
        using var db = Database.Open(_dir, new EngineOptions { UseDirectIO = false });
        // Every store counts as large here: never on the caller's thread.
        var store = new EngineReplicaStore(db) { InlineKeyCountEntries = -1, InlineKeyCountMs = -1 };
        for (var i = 0; i < 10; i++) await store.ApplyAsync(Put("k" + i, "v", 100));
        for (var i = 0; i < 4; i++) await store.ApplyAsync(new MutationRequest(Key("k" + i), default, 200, 0, MutationKind.Tombstone));
        var first = store.EstimateKeyCount(); // the engine's estimate: tombstones and overwritten versions count
        Assert.True(first >= 6, $"first answer {first}");
        var deadline = DateTime.UtcNow.AddMinutes(2); // a hang guard, not a timing assertion
        while (store.EstimateKeyCount() != 6)
        {
            Assert.True(DateTime.UtcNow < deadline, "the background count never arrived");
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
