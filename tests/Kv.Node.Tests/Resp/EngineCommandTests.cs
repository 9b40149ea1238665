using Kv.Node.Tests.Storage;
using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Resp;

/// <summary>The command suite against a whole node: the real engine in a temp data directory.</summary>
public sealed class EngineCommandTests : CommandTestsBase
{
    private readonly TempDirectory _directory = new();

    protected override Task<TestServer> StartServerAsync() => TestServer.StartNodeAsync(_directory.Path, Time);

    [Fact]
    public async Task InfoKeyspace_KeysWithAnExpiry_CountedWithTheirMeanTimeToLive()
    {
        await Db.StringSetAsync("plain", "v");
        await Db.StringSetAsync("t1", "v", TimeSpan.FromSeconds(100));
        await Db.StringSetAsync("t2", "v", TimeSpan.FromSeconds(300));
        var server = Redis.GetServer(Server.EndPoint);
        static string Line(string? info) => info!.Split("\r\n").Single(l => l.StartsWith("db0:", StringComparison.Ordinal));
        Assert.Equal("db0:keys=3,expires=2,avg_ttl=200000", Line(await server.InfoRawAsync("keyspace")));
        Time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal("db0:keys=3,expires=2,avg_ttl=150000", Line(await server.InfoRawAsync("keyspace")));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
