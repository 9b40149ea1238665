using System.Buffers.Binary;
using Kv.Gossip.Ring;
using Kv.Node.Tests.Support;
using StackExchange.Redis;

namespace Kv.Node.Tests.Storage;

/// <summary>Stop a node, start it again on the same data directory: every acknowledged write is served.</summary>
public sealed class RestartPersistenceTests
{
    [Fact]
    public async Task Restart_SameDataDirectory_ServesEveryAcknowledgedWrite()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        await using (var node = await TestServer.StartNodeAsync(dir.Path, time))
        {
            await using var redis = await node.ConnectAsync();
            var db = redis.GetDatabase();
            var batch = new List<Task>();
            for (var i = 0; i < 2000; i++) batch.Add(db.StringSetAsync("k" + i, "v" + i));
            await Task.WhenAll(batch);
            await db.StringSetAsync("ttl", "x", TimeSpan.FromSeconds(60));
            await db.StringSetAsync("gone", "x");
            await db.KeyDeleteAsync("gone");
            await db.StringSetAsync([new("{t}a", "1"), new("{t}b", "2")]);
        }
        await using (var node = await TestServer.StartNodeAsync(dir.Path, time))
        {
            await using var redis = await node.ConnectAsync();
            var db = redis.GetDatabase();
            for (var i = 0; i < 2000; i += 7) Assert.Equal("v" + i, await db.StringGetAsync("k" + i));
            Assert.False(await db.KeyExistsAsync("gone"));
            Assert.Equal("2", await db.StringGetAsync("{t}b"));
            Assert.Equal(TimeSpan.FromSeconds(60), await db.KeyTimeToLiveAsync("ttl"));
            time.Advance(TimeSpan.FromSeconds(61));
            Assert.False(await db.KeyExistsAsync("ttl"));
        }
    }

    [Fact]
    public async Task Restart_ClockBehind_NewWritesStillWin()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        await using (var node = await TestServer.StartNodeAsync(dir.Path, time))
        {
            await using var redis = await node.ConnectAsync();
            await redis.GetDatabase().StringSetAsync("k", "old");
        }
        time.Advance(TimeSpan.FromMinutes(-5)); // restarted with the wall clock stepped back
        await using (var node = await TestServer.StartNodeAsync(dir.Path, time))
        {
            await using var redis = await node.ConnectAsync();
            await redis.GetDatabase().StringSetAsync("k", "new");
            Assert.Equal("new", await redis.GetDatabase().StringGetAsync("k"));
        }
        await using (var node = await TestServer.StartNodeAsync(dir.Path, time))
        {
            await using var redis = await node.ConnectAsync();
            Assert.Equal("new", await redis.GetDatabase().StringGetAsync("k"));
        }
    }

    [Fact]
    public async Task Keys_StoredTokenPrefixed_InTheEngine()
    {
        using var dir = new TempDirectory();
        await using var node = await TestServer.StartNodeAsync(dir.Path);
        await using (var redis = await node.ConnectAsync())
        {
            await redis.GetDatabase().StringSetAsync("{user:1}:name", "ann");
        }
        var key = "{user:1}:name"u8.ToArray();
        var storageKey = new byte[key.Length + Partitioner.TokenPrefixLength];
        Partitioner.WriteStorageKey(storageKey, key);
        Assert.Equal(Partitioner.Token("user:1"u8), BinaryPrimitives.ReadUInt64BigEndian(storageKey));
        var read = node.Host!.Database.Get(storageKey);
        Assert.Equal(Kv.Engine.ReadStatus.Found, read.Status);
        Assert.Equal("ann"u8.ToArray(), read.Value);
    }
}
