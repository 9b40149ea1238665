using System.Diagnostics;
using System.Globalization;
using Kv.Node.Hosting;
using Kv.Node.Resp;
using Kv.Node.Storage;
using Kv.Node.Tests.Support;
using static Kv.Node.Tests.Support.RespCommands;

namespace Kv.Node.Tests.Resp;

/// <summary>
/// SLOWLOG and its two settings, through raw sockets (so no client library's own commands enter the log) and once
/// through StackExchange.Redis. Most tests log every command (slowlog-log-slower-than 0), so they assert what is logged
/// and how, never how long anything took; a command that runs after a reply was read is logged after that reply too
/// (SLOWLOG's own requests included), which the expected entries account for.
/// </summary>
public sealed class SlowlogTests
{
    private readonly ManualTimeProvider _time = new();

    private long StartUnixSeconds => _time.GetUtcNow().ToUnixTimeSeconds();

    private Task<TestServer> StartAsync(Action<NodeOptions> configure, IKeyspace? keyspace = null) =>
        TestServer.StartAsync(keyspace ?? new InMemoryKeyspace(_time), _time, configure);

    [Fact]
    public async Task Get_ThresholdZero_LogsEveryCommandWithClientNewestFirst()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 0);
        using var named = await server.RawAsync();
        var start = StartUnixSeconds;
        Assert.Equal("OK", await CallAsync(named, "CLIENT", "SETNAME", "slowpoke"));
        Assert.Equal("OK", await CallAsync(named, "SET", "k", "v"));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("v", await CallAsync(named, "GET", "k"));
        using var anonymous = await server.RawAsync();
        Assert.Equal("hi", await CallAsync(anonymous, "ECHO", "hi"));

        var entries = await SlowlogGetAsync(named);

        Assert.Equal(["ECHO hi", "GET k", "SET k v", "CLIENT SETNAME slowpoke"], entries.Select(e => string.Join(' ', e.Arguments)));
        Assert.Equal([3L, 2L, 1L, 0L], entries.Select(e => e.Id));
        Assert.Equal([start + 5, start + 5, start, start], entries.Select(e => e.UnixTime));
        Assert.All(entries, e => Assert.True(e.Micros >= 0));
        var namedAddress = named.Socket.LocalEndPoint!.ToString();
        Assert.Equal([anonymous.Socket.LocalEndPoint!.ToString(), namedAddress, namedAddress, namedAddress], entries.Select(e => e.Address));
        // The name is the client's when its command was logged, after it ran: SETNAME's own entry has it.
        Assert.Equal(["", "slowpoke", "slowpoke", "slowpoke"], entries.Select(e => e.Name));
    }

    [Fact]
    public async Task Get_Count_LimitsTheEntries()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 0);
        using var client = await server.RawAsync();
        for (var i = 1; i <= 12; i++) await CallAsync(client, "ECHO", Number(i));

        var byDefault = await SlowlogGetAsync(client);
        Assert.Equal(Enumerable.Range(3, 10).Reverse().Select(i => $"ECHO {i}"), byDefault.Select(e => string.Join(' ', e.Arguments)));
        var two = await SlowlogGetAsync(client, "2");
        Assert.Equal(["SLOWLOG GET", "ECHO 12"], two.Select(e => string.Join(' ', e.Arguments)));
        var all = await SlowlogGetAsync(client, "-1");
        Assert.Equal(14, all.Count);
        Assert.Equal(Enumerable.Range(0, 14).Reverse().Select(i => (long)i), all.Select(e => e.Id));
        Assert.Empty(await SlowlogGetAsync(client, "0"));
        var one = Assert.Single(await SlowlogGetAsync(client, "1"));
        Assert.Equal(["SLOWLOG", "GET", "0"], one.Arguments);
        Assert.Equal(15, one.Id); // ECHOs 0-11, then GET, GET 2, GET -1

        Assert.Equal(new RespError("ERR count should be greater than or equal to -1"), await CallAsync(client, "SLOWLOG", "GET", "-2"));
        Assert.Equal(new RespError("ERR count should be greater than or equal to -1"), await CallAsync(client, "SLOWLOG", "GET", "ten"));
    }

    [Fact]
    public async Task LenAndReset_CountTheEntriesThenDropThem_IdsGoOn()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 0);
        using var client = await server.RawAsync();
        Assert.Equal(0L, await CallAsync(client, "SLOWLOG", "LEN"));
        for (var i = 0; i < 3; i++) await CallAsync(client, "PING");
        Assert.Equal(4L, await CallAsync(client, "SLOWLOG", "LEN")); // the first LEN and the three PINGs

        Assert.Equal("OK", await CallAsync(client, "SLOWLOG", "RESET"));

        var left = Assert.Single(await SlowlogGetAsync(client, "-1"));
        Assert.Equal(["SLOWLOG", "RESET"], left.Arguments); // logged after it ran, as in Redis
        Assert.Equal(5, left.Id);                            // ids 0-4 went before it, and RESET does not restart them
        Assert.Equal(2L, await CallAsync(client, "SLOWLOG", "LEN"));
    }

    [Fact]
    public async Task GetLenReset_FromAClientThatIsNotAdmin_RefusedAndTheLogKept()
    {
        await using var server = await StartAsync(o =>
        {
            o.SlowlogLogSlowerThan = 0;
            o.AdminCommands = AdminCommandsMode.None;
        });
        using var client = await server.RawAsync();
        await CallAsync(client, "ECHO", "kept");

        foreach (var sub in new[] { "GET", "LEN", "RESET" })
        {
            var refused = Assert.IsType<RespError>(await CallAsync(client, "SLOWLOG", sub));
            Assert.StartsWith($"NOPERM 'slowlog|{sub.ToLowerInvariant()}' is an admin command", refused.Message);
        }
        Assert.IsType<List<object?>>(await CallAsync(client, "SLOWLOG", "HELP")); // not an admin command

        // ECHO, the three refused SLOWLOGs (refused inside the command, so they ran) and HELP: nothing was dropped.
        Assert.Equal(5, server.Server.Slowlog.Count);
        var newest = server.Server.Slowlog.Newest(5);
        Assert.Equal(["SLOWLOG HELP", "SLOWLOG RESET", "SLOWLOG LEN", "SLOWLOG GET", "ECHO kept"],
            newest.Select(e => string.Join(' ', e.Arguments.Select(a => System.Text.Encoding.UTF8.GetString(a)))));
    }

    [Theory]
    [InlineData(3, 10)]
    [InlineData(20, 17)] // just past the ring's first size (16): grown, not yet full
    [InlineData(20, 45)] // grown to the maximum, then wrapped around it
    public async Task MaxLen_Commands_OnlyTheNewestKept(int maxLength, int commands)
    {
        await using var server = await StartAsync(o =>
        {
            o.SlowlogLogSlowerThan = 0;
            o.SlowlogMaxLength = maxLength;
        });
        using var client = await server.RawAsync();
        for (var i = 1; i <= commands; i++) await CallAsync(client, "ECHO", Number(i));

        var entries = await SlowlogGetAsync(client, "-1");

        var kept = Math.Min(maxLength, commands);
        var newest = Enumerable.Range(commands - kept + 1, kept).Reverse().ToList();
        Assert.Equal(newest.Select(i => $"ECHO {i}"), entries.Select(e => string.Join(' ', e.Arguments)));
        Assert.Equal(newest.Select(i => (long)(i - 1)), entries.Select(e => e.Id));
        Assert.Equal((long)Math.Min(maxLength, commands + 1), await CallAsync(client, "SLOWLOG", "LEN")); // GET -1 logged too
    }

    [Fact]
    public async Task MaxLen_Zero_LogsNothing()
    {
        await using var server = await StartAsync(o =>
        {
            o.SlowlogLogSlowerThan = 0;
            o.SlowlogMaxLength = 0;
        });
        using var client = await server.RawAsync();
        await CallAsync(client, "PING");
        Assert.Empty(await SlowlogGetAsync(client, "-1"));
        Assert.Equal(0L, await CallAsync(client, "SLOWLOG", "LEN"));
    }

    [Fact]
    public async Task Arguments_TooManyOrTooLong_TruncatedAsRedisDoes()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 0);
        using var client = await server.RawAsync();
        string[] Keys(int n) => Enumerable.Range(1, n).Select(i => $"k{i}").ToArray();
        await CallAsync(client, ["EXISTS", .. Keys(39)]); // 40 arguments
        await CallAsync(client, ["EXISTS", .. Keys(31)]); // 32: all kept
        var longValue = new string('x', 200);
        var exact = new string('y', Slowlog.MaxArgumentBytes);
        await CallAsync(client, "SET", "long", longValue);
        await CallAsync(client, "SET", "exact", exact);

        var entries = await SlowlogGetAsync(client);

        Assert.Equal(["SET", "exact", exact], entries[0].Arguments);
        Assert.Equal(["SET", "long", new string('x', 128) + "... (72 more bytes)"], entries[1].Arguments);
        Assert.Equal(["EXISTS", .. Keys(31)], entries[2].Arguments);
        Assert.Equal(["EXISTS", .. Keys(30), "... (9 more arguments)"], entries[3].Arguments);
    }

    [Fact]
    public async Task AuthAndHello_Passwords_Redacted()
    {
        await using var server = await StartAsync(o =>
        {
            o.SlowlogLogSlowerThan = 0;
            o.Password = "s3cret";
        });
        using var client = await server.RawAsync();
        Assert.IsType<RespError>(await CallAsync(client, "GET", "k")); // NOAUTH: refused before it ran, not logged
        Assert.IsType<RespError>(await CallAsync(client, "AUTH", "wr0ng"));
        Assert.Equal("OK", await CallAsync(client, "AUTH", "s3cret"));
        Assert.Equal("OK", await CallAsync(client, "AUTH", "default", "s3cret"));
        Assert.IsType<List<object?>>(await CallAsync(client, "HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "n"));
        Assert.IsType<RespError>(await CallAsync(client, "HELLO", "AUTH", "default", "s3cret")); // no version: still hidden

        await client.SendAsync(Cmd("SLOWLOG", "GET", "-1"));
        var text = await client.ReceiveRepliesAsync(1);
        Assert.DoesNotContain("s3cret", text);
        Assert.DoesNotContain("wr0ng", text);
        var entries = ParseEntries(text);
        Assert.Equal(
            [
                "HELLO AUTH (redacted) (redacted)",
                "HELLO 2 AUTH (redacted) (redacted) SETNAME n",
                "AUTH (redacted) (redacted)",
                "AUTH (redacted)",
                "AUTH (redacted)",
            ],
            entries.Select(e => string.Join(' ', e.Arguments)));
    }

    [Fact]
    public async Task Threshold_Negative_LogsNothing()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = -1);
        using var client = await server.RawAsync();
        await CallAsync(client, "SET", "k", "v");
        await CallAsync(client, "GET", "k");
        Assert.False(server.Server.Slowlog.Enabled);
        Assert.Empty(await SlowlogGetAsync(client, "-1"));
        Assert.Equal(0L, await CallAsync(client, "SLOWLOG", "LEN"));
    }

    [Fact]
    public async Task Threshold_High_FastCommandsNotLogged()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 3_600_000_000); // an hour
        using var client = await server.RawAsync();
        await CallAsync(client, "SET", "k", "v");
        await CallAsync(client, "GET", "k");
        Assert.True(server.Server.Slowlog.Enabled);
        Assert.Empty(await SlowlogGetAsync(client, "-1"));
        Assert.Equal(0L, await CallAsync(client, "SLOWLOG", "LEN"));
    }

    /// <summary>A command whose handler waits for the keyspace is timed until that wait ends, not until the handler first
    /// returns: FLUSHALL is held in the keyspace for at least 50 ms (a lower bound, whatever the machine's load).</summary>
    [Fact]
    public async Task Duration_CommandWaitingForTheKeyspace_CoversTheWait()
    {
        var keyspace = new HeldFlushKeyspace(new InMemoryKeyspace(_time));
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 20_000, keyspace);
        using var client = await server.RawAsync();
        await client.SendAsync(Cmd("FLUSHALL"));
        await keyspace.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var held = Stopwatch.StartNew();
        while (held.ElapsedMilliseconds < 50) await Task.Delay(10);
        keyspace.Release.SetResult();
        Assert.Equal("+OK\r\n", await client.ReceiveRepliesAsync(1));

        var flush = Assert.Single(await SlowlogGetAsync(client, "-1"), e => e.Arguments[0] == "FLUSHALL");

        Assert.True(flush.Micros >= 50_000, $"{flush.Micros} µs logged for a command held at least 50 ms");
    }

    [Fact]
    public async Task Errors_UnknownSubcommandAndArity_UseRedisWording()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 0);
        using var client = await server.RawAsync();
        Assert.Equal(new RespError("ERR unknown subcommand 'FOO'. Try SLOWLOG HELP."), await CallAsync(client, "SLOWLOG", "FOO"));
        Assert.Equal(new RespError("ERR wrong number of arguments for 'slowlog' command"), await CallAsync(client, "SLOWLOG"));
        Assert.Equal(new RespError("ERR wrong number of arguments for 'slowlog|len' command"), await CallAsync(client, "SLOWLOG", "LEN", "1"));
        Assert.Equal(new RespError("ERR wrong number of arguments for 'slowlog|reset' command"), await CallAsync(client, "slowlog", "reset", "now"));
        Assert.Equal(new RespError("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP."),
            await CallAsync(client, "SLOWLOG", "get", "1", "2"));
        var help = Assert.IsType<List<object?>>(await CallAsync(client, "SLOWLOG", "HELP"));
        Assert.Equal("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", help[0]);
        Assert.Contains("RESET", help);
        Assert.Equal("    Print this help.", help[^1]);
    }

    [Fact]
    public async Task ConfigGet_SlowlogSettings_AnswerTheOptions()
    {
        await using var server = await StartAsync(o =>
        {
            o.SlowlogLogSlowerThan = 2500;
            o.SlowlogMaxLength = 7;
        });
        using var client = await server.RawAsync();
        var settings = Assert.IsType<List<object?>>(await CallAsync(client, "CONFIG", "GET", "slowlog-*"));
        Assert.Equal(["slowlog-log-slower-than", "2500", "slowlog-max-len", "7"], settings);
        var refused = Assert.IsType<RespError>(await CallAsync(client, "CONFIG", "SET", "slowlog-max-len", "1"));
        Assert.StartsWith("ERR CONFIG SET is not supported", refused.Message);
    }

    [Fact]
    public async Task Get_StackExchangeRedis_ReadsTheEntries()
    {
        await using var server = await StartAsync(o => o.SlowlogLogSlowerThan = 0);
        await using var redis = await server.ConnectAsync();
        await redis.GetDatabase().StringSetAsync("se:key", "se:value");
        var admin = redis.GetServer(server.EndPoint);

        var traces = await admin.SlowlogGetAsync(1000);

        var set = Assert.Single(traces, t => t.Arguments.Length == 3 && t.Arguments[1] == "se:key");
        Assert.Equal(["SET", "se:key", "se:value"], set.Arguments.Select(a => a.ToString()));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(StartUnixSeconds).UtcDateTime, set.Time);
        Assert.True(traces.Select(t => t.UniqueId).SequenceEqual(traces.Select(t => t.UniqueId).OrderDescending()));
        await admin.SlowlogResetAsync();
        Assert.DoesNotContain(await admin.SlowlogGetAsync(1000), t => t.Arguments.Length == 3 && t.Arguments[1] == "se:key");
    }

    // ---- a raw client's view of the replies ----

    private sealed record Entry(long Id, long UnixTime, long Micros, string[] Arguments, string Address, string Name);

    private static string Number(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static async Task<List<Entry>> SlowlogGetAsync(RawClient client, params string[] count)
    {
        await client.SendAsync(Cmd(["SLOWLOG", "GET", .. count]));
        return ParseEntries(await client.ReceiveRepliesAsync(1));
    }

    private static List<Entry> ParseEntries(string reply)
    {
        var entries = new List<Entry>();
        foreach (var item in Assert.IsType<List<object?>>(ParseOne(reply)))
        {
            var f = Assert.IsType<List<object?>>(item);
            Assert.Equal(6, f.Count);
            var arguments = Assert.IsType<List<object?>>(f[3]).Select(a => Assert.IsType<string>(a)).ToArray();
            entries.Add(new Entry((long)f[0]!, (long)f[1]!, (long)f[2]!, arguments, Assert.IsType<string>(f[4]), Assert.IsType<string>(f[5])));
        }
        return entries;
    }

    /// <summary>Holds FLUSHALL in the keyspace until the test releases it.</summary>
    private sealed class HeldFlushKeyspace(IKeyspace inner) : ForwardingKeyspace(inner)
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task.ConfigureAwait(false);
            return await Inner.DeleteAllAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
