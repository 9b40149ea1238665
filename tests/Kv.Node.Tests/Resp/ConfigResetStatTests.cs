using Kv.Node.Resp;
using Kv.Node.Storage;
using Kv.Node.Tests.Support;
using static Kv.Node.Tests.Support.RespCommands;

namespace Kv.Node.Tests.Resp;

/// <summary>CONFIG RESETSTAT: INFO stats and commandstats start again from zero; an admin command.</summary>
public sealed class ConfigResetStatTests
{
    private readonly ManualTimeProvider _time = new();

    private static async Task<Dictionary<string, string>> InfoAsync(RawClient client, string section)
    {
        var text = (string)(await CallAsync(client, "INFO", section))!;
        return text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'))
            .ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..]);
    }

    [Fact]
    public async Task ResetStat_AfterCommands_StatsAndCommandstatsCountOnlyWhatCameAfter()
    {
        await using var server = await TestServer.StartAsync(new InMemoryKeyspace(_time), _time);
        using var client = await server.RawAsync();
        Assert.Equal("OK", await CallAsync(client, "SET", "k", "v"));
        Assert.Equal("v", await CallAsync(client, "GET", "k"));
        Assert.Null(await CallAsync(client, "GET", "missing"));
        Assert.IsType<RespError>(await CallAsync(client, "GET"));
        var before = await InfoAsync(client, "everything");
        Assert.Equal("1", before["keyspace_hits"]);
        Assert.StartsWith("calls=2,", before["cmdstat_get"]);

        Assert.Equal("OK", await CallAsync(client, "CONFIG", "RESETSTAT"));
        Assert.Equal("v", await CallAsync(client, "GET", "k"));
        var after = await InfoAsync(client, "everything");

        Assert.Equal("1", after["keyspace_hits"]);
        Assert.Equal("0", after["keyspace_misses"]);
        Assert.Equal("0", after["total_connections_received"]);
        Assert.Equal("2", after["total_commands_processed"]); // the GET and this INFO
        Assert.Equal("calls=1", after["cmdstat_get"].Split(',')[0]);
        Assert.EndsWith("rejected_calls=0,failed_calls=0", after["cmdstat_get"]);
        Assert.False(after.ContainsKey("cmdstat_set"));
        Assert.Equal("calls=1", after["cmdstat_config"].Split(',')[0]); // counted once its handler ran, as in Redis
        var arity = Assert.IsType<RespError>(await CallAsync(client, "CONFIG", "RESETSTAT", "now"));
        Assert.Equal("ERR wrong number of arguments for 'config|resetstat' command", arity.Message);
    }

    [Fact]
    public async Task ResetStat_FromAClientThatIsNotAdmin_RefusedAndNothingReset()
    {
        await using var server = await TestServer.StartAsync(new InMemoryKeyspace(_time), _time, o => o.AdminCommands = AdminCommandsMode.None);
        using var client = await server.RawAsync();
        Assert.Equal("OK", await CallAsync(client, "SET", "k", "v"));

        var refused = Assert.IsType<RespError>(await CallAsync(client, "CONFIG", "RESETSTAT"));
        Assert.StartsWith("NOPERM 'config|resetstat' is an admin command", refused.Message);
        Assert.Equal(1, server.Server.CommandStats.Get(CommandTable.Default.Find("set")!).Calls);
        Assert.True(server.Server.Stats.CommandsProcessed >= 2);
    }
}
