using System.Globalization;
using System.Text;
using Kv.Node.Tests.Support;
using StackExchange.Redis;

namespace Kv.Node.Tests.Resp;

/// <summary>
/// Every command through a real client (StackExchange.Redis) and, for exact error wording, raw sockets.
/// Runs once over the in-memory test keyspace and once over the engine (see the derived classes).
/// Time is a <see cref="ManualTimeProvider"/> shared by server and storage, so TTLs are deterministic.
/// </summary>
public abstract partial class CommandTestsBase : IAsyncLifetime
{
    protected ManualTimeProvider Time { get; } = new();

    protected TestServer Server { get; private set; } = null!;

    protected ConnectionMultiplexer Redis { get; private set; } = null!;

    protected IDatabase Db => Redis.GetDatabase();

    protected abstract Task<TestServer> StartServerAsync();

    public async Task InitializeAsync()
    {
        Server = await StartServerAsync();
        Redis = await Server.ConnectAsync();
    }

    public virtual async Task DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Server.DisposeAsync();
    }

    /// <summary>Sends one command as RESP and returns exactly <paramref name="expected"/>.Length bytes of reply.</summary>
    protected async Task<string> RawAsync(string expected, params string[] args)
    {
        using var raw = await Server.RawAsync();
        var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) request.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        await raw.SendAsync(request.ToString());
        return await raw.ReceiveAsync(Encoding.UTF8.GetByteCount(expected));
    }

    protected async Task AssertRawAsync(string expected, params string[] args) => Assert.Equal(expected, await RawAsync(expected, args));

    [Fact]
    public async Task Ping_WithAndWithoutMessage_Answers()
    {
        Assert.True((await Db.PingAsync()) >= TimeSpan.Zero);
        await AssertRawAsync("+PONG\r\n", "PING");
        await AssertRawAsync("$2\r\nhi\r\n", "PING", "hi");
        await AssertRawAsync("$5\r\nhello\r\n", "ECHO", "hello");
    }

    [Fact]
    public async Task SetGet_BinaryValueWithNulBytes_RoundTrips()
    {
        byte[] key = [0, 1, 2, (byte)'k', 0];
        byte[] value = [0, 0, 255, 13, 10, 0];
        Assert.True(await Db.StringSetAsync(key, value));
        Assert.Equal(value, (byte[]?)await Db.StringGetAsync(key));
        Assert.True((await Db.StringGetAsync("missing")).IsNull);
    }

    [Fact]
    public async Task Set_NxAndXx_WriteOnlyWhenConditionHolds()
    {
        Assert.False(await Db.StringSetAsync("k", "1", when: When.Exists));
        Assert.True(await Db.StringSetAsync("k", "1", when: When.NotExists));
        Assert.False(await Db.StringSetAsync("k", "2", when: When.NotExists));
        Assert.True(await Db.StringSetAsync("k", "3", when: When.Exists));
        Assert.Equal("3", await Db.StringGetAsync("k"));
        Assert.Equal(1, (int)await Db.ExecuteAsync("SETNX", "k2", "x"));
        Assert.Equal(0, (int)await Db.ExecuteAsync("SETNX", "k2", "y"));
        await AssertRawAsync(":0\r\n", "SETNX", "k2", "z");
        await AssertRawAsync("-ERR syntax error\r\n", "SET", "k", "v", "NX", "XX");
        await AssertRawAsync("-ERR syntax error\r\n", "SET", "k", "v", "EX", "10", "PX", "100");
        await AssertRawAsync("-ERR syntax error\r\n", "SET", "k", "v", "BOGUS");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "SET", "k", "v", "EX", "ten");
        await AssertRawAsync("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "0");
        await AssertRawAsync("-ERR invalid expire time in 'set' command\r\n", "SET", "k", "v", "EX", "9223372036854775807");
    }

    [Fact]
    public async Task Set_Get_ReturnsPreviousValue()
    {
        Assert.True((await Db.StringSetAndGetAsync("g", "a")).IsNull);
        Assert.Equal("a", await Db.StringSetAndGetAsync("g", "b"));
        await AssertRawAsync("$1\r\nb\r\n", "SET", "g", "c", "GET");
        await AssertRawAsync("$-1\r\n", "SET", "g2", "c", "NX", "GET");
        Assert.Equal("c", await Db.StringGetAsync("g"));
    }

    [Fact]
    public async Task Set_ExpiryForms_ExpireAtTheRightTime()
    {
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        await AssertRawAsync("+OK\r\n", "SET", "ex", "v", "EX", "10");
        await AssertRawAsync("+OK\r\n", "SET", "px", "v", "PX", "1500");
        await AssertRawAsync("+OK\r\n", "SET", "exat", "v", "EXAT", ((now / 1000) + 20).ToString());
        await AssertRawAsync("+OK\r\n", "SET", "pxat", "v", "PXAT", (now + 2500).ToString());
        Assert.Equal(TimeSpan.FromSeconds(10), await Db.KeyTimeToLiveAsync("ex"));
        await AssertRawAsync(":1500\r\n", "PTTL", "px");
        await AssertRawAsync(":2\r\n", "TTL", "px");

        Time.Advance(TimeSpan.FromMilliseconds(1600));
        Assert.True((await Db.StringGetAsync("px")).IsNull);
        Assert.Equal("v", await Db.StringGetAsync("pxat"));
        Time.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.True((await Db.StringGetAsync("pxat")).IsNull);
        Assert.Equal("v", await Db.StringGetAsync("ex"));
        Time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await Db.StringGetAsync("ex")).IsNull);
        await AssertRawAsync(":-2\r\n", "TTL", "ex");
    }

    [Fact]
    public async Task Set_KeepTtl_KeepsExpiryAndPlainSetClearsIt()
    {
        await Db.StringSetAsync("t", "1", TimeSpan.FromSeconds(100));
        await AssertRawAsync("+OK\r\n", "SET", "t", "2", "KEEPTTL");
        await AssertRawAsync(":100\r\n", "TTL", "t");
        await AssertRawAsync("+OK\r\n", "PSETEX", "t2", "2500", "v");
        await AssertRawAsync(":2500\r\n", "PTTL", "t2");
        await AssertRawAsync("-ERR invalid expire time in 'setex' command\r\n", "SETEX", "t2", "0", "v");
        await Db.StringSetAsync("t", "3");
        await AssertRawAsync(":-1\r\n", "TTL", "t");
    }

    [Fact]
    public async Task GetDel_ReturnsValueAndDeletes()
    {
        await Db.StringSetAsync("d", "v");
        Assert.Equal("v", await Db.StringGetDeleteAsync("d"));
        Assert.True((await Db.StringGetDeleteAsync("d")).IsNull);
        Assert.False(await Db.KeyExistsAsync("d"));
    }

    [Fact]
    public async Task GetEx_ChangesOrRemovesExpiry()
    {
        await Db.StringSetAsync("e", "v");
        Assert.Equal("v", await Db.StringGetSetExpiryAsync("e", TimeSpan.FromSeconds(30)));
        await AssertRawAsync(":30\r\n", "TTL", "e");
        await AssertRawAsync("$1\r\nv\r\n", "GETEX", "e", "PERSIST");
        await AssertRawAsync(":-1\r\n", "TTL", "e");
        await AssertRawAsync("$1\r\nv\r\n", "GETEX", "e");
        await AssertRawAsync("-ERR syntax error\r\n", "GETEX", "e", "EX", "1", "PX", "1");
        await AssertRawAsync("-ERR invalid expire time in 'getex' command\r\n", "GETEX", "e", "EX", "-1");
        await AssertRawAsync("$-1\r\n", "GETEX", "nokey", "EX", "5");
    }

    [Fact]
    public async Task MSetMGet_ManyKeys_RoundTrip()
    {
        await Db.StringSetAsync([new("a", "1"), new("b", "2"), new("{t}c", "3")]);
        var values = await Db.StringGetAsync(["a", "missing", "b", "{t}c"]);
        Assert.Equal(["1", null, "2", "3"], values.Select(v => (string?)v));
        await AssertRawAsync("-ERR wrong number of arguments for 'mset' command\r\n", "MSET", "a", "1", "b");
    }

    [Fact]
    public async Task DelUnlinkExists_CountKeys()
    {
        await Db.StringSetAsync([new("x", "1"), new("y", "2"), new("z", "3")]);
        await AssertRawAsync(":3\r\n", "EXISTS", "x", "y", "x", "nope");
        Assert.Equal(2, await Db.KeyDeleteAsync(["x", "y", "nope"]));
        await AssertRawAsync(":1\r\n", "UNLINK", "z", "x");
        await AssertRawAsync(":0\r\n", "EXISTS", "x", "y", "z");
    }

    [Fact]
    public async Task ExpireFamily_ConditionsAndForms_FollowRedis()
    {
        await Db.StringSetAsync("k", "v");
        await AssertRawAsync(":0\r\n", "EXPIRE", "k", "100", "XX");
        await AssertRawAsync(":1\r\n", "EXPIRE", "k", "100", "NX");
        await AssertRawAsync(":0\r\n", "EXPIRE", "k", "50", "GT");
        await AssertRawAsync(":1\r\n", "EXPIRE", "k", "200", "GT");
        await AssertRawAsync(":1\r\n", "PEXPIRE", "k", "5000", "LT");
        await AssertRawAsync(":5000\r\n", "PTTL", "k");
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        await AssertRawAsync(":1\r\n", "EXPIREAT", "k", ((now / 1000) + 60).ToString());
        await AssertRawAsync(":1\r\n", "PEXPIREAT", "k", (now + 7000).ToString());
        await AssertRawAsync(":7\r\n", "TTL", "k");
        await AssertRawAsync(":1\r\n", "PERSIST", "k");
        await AssertRawAsync(":0\r\n", "PERSIST", "k");
        await AssertRawAsync(":-1\r\n", "TTL", "k");
        await AssertRawAsync(":0\r\n", "EXPIRE", "missing", "10");
        await AssertRawAsync("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", "EXPIRE", "k", "1", "NX", "XX");
        await AssertRawAsync("-ERR GT and LT options at the same time are not compatible\r\n", "EXPIRE", "k", "1", "GT", "LT");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "EXPIRE", "k", "1.5");
        await AssertRawAsync("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "k", "9223372036854775807");
        await AssertRawAsync(":1\r\n", "EXPIRE", "k", "-1");
        Assert.False(await Db.KeyExistsAsync("k"));
    }

    [Fact]
    public async Task Type_StringOrNone()
    {
        await Db.StringSetAsync("s", "v");
        Assert.Equal(RedisType.String, await Db.KeyTypeAsync("s"));
        Assert.Equal(RedisType.None, await Db.KeyTypeAsync("nothing"));
    }

    [Fact]
    public async Task Scan_WholeWalk_ReturnsEveryKeyOnceInTokenOrder()
    {
        var expected = new HashSet<string>();
        for (var i = 0; i < 500; i++) expected.Add("key:" + i);
        expected.Add("{tag}a");
        expected.Add("{tag}b");
        await Db.StringSetAsync(expected.Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v")).ToArray());
        var server = Redis.GetServer(Server.EndPoint);
        var seen = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: "*", pageSize: 7)) seen.Add(key!);
        Assert.Equal(expected.Count, seen.Count);
        Assert.Equal(expected.OrderBy(k => k), seen.OrderBy(k => k));
        var tokens = seen.Select(k => Kv.Gossip.Ring.Partitioner.Token(Encoding.UTF8.GetBytes(k))).ToList();
        Assert.Equal(tokens.OrderBy(t => t), tokens);

        var matched = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: "key:1?", pageSize: 50)) matched.Add(key!);
        Assert.Equal(10, matched.Count);
        await AssertRawAsync("-ERR invalid cursor\r\n", "SCAN", "abc");
        await AssertRawAsync("-ERR syntax error\r\n", "SCAN", "0", "COUNT", "0");
        using var raw = await Server.RawAsync();
        await raw.SendAsync("*4\r\n$4\r\nSCAN\r\n$1\r\n0\r\n$4\r\nTYPE\r\n$4\r\nhash\r\n");
        Assert.EndsWith("*0\r\n", await raw.ReceiveRepliesAsync(1));
    }

    [Fact]
    public async Task IncrDecr_CountFromZero_KeepTheExpiry_RefuseWhatIsNotAnInteger()
    {
        Assert.Equal(1, await Db.StringIncrementAsync("n"));
        Assert.Equal(11, await Db.StringIncrementAsync("n", 10));
        Assert.Equal(10, await Db.StringDecrementAsync("n"));
        Assert.Equal(-5, await Db.StringDecrementAsync("n", 15));
        Assert.Equal("-5", (string?)await Db.StringGetAsync("n"));
        await AssertRawAsync(":-4\r\n", "INCR", "n");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "INCRBY", "n", "1.5");

        await Db.StringSetAsync("t", "41", TimeSpan.FromSeconds(100));
        Assert.Equal(42, await Db.StringIncrementAsync("t"));
        var ttl = await Db.KeyTimeToLiveAsync("t");
        Assert.True(ttl > TimeSpan.FromSeconds(90), $"ttl {ttl}");

        await Db.StringSetAsync("s", "abc");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "INCR", "s");
        await Db.StringSetAsync("z", "007");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "INCR", "z");
        await Db.StringSetAsync("max", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await AssertRawAsync("-ERR increment or decrement would overflow\r\n", "INCR", "max");
        await AssertRawAsync("-ERR decrement would overflow\r\n", "DECRBY", "n", "-9223372036854775808");
        Assert.Equal("abc", (string?)await Db.StringGetAsync("s")); // a refused update leaves the value alone
        Assert.Equal(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)await Db.StringGetAsync("max"));
    }

    [Fact]
    public async Task IncrByFloat_AddsAndWritesTheShortestDecimal()
    {
        Assert.Equal(10.5, await Db.StringIncrementAsync("f", 10.5));
        await AssertRawAsync("$4\r\n10.6\r\n", "INCRBYFLOAT", "f", "0.1");
        await AssertRawAsync("$4\r\n5000\r\n", "INCRBYFLOAT", "g", "5.0e3");
        await AssertRawAsync("$21\r\n100000000000000000000\r\n", "INCRBYFLOAT", "h", "1e20");
        await AssertRawAsync("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "f", "abc");
        await AssertRawAsync("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "f", "inf");
        await Db.StringSetAsync("big", "1.7e308");
        await AssertRawAsync("-ERR increment would produce NaN or Infinity\r\n", "INCRBYFLOAT", "big", "1.7e308");
        Assert.Equal("1.7e308", (string?)await Db.StringGetAsync("big"));
        await Db.StringSetAsync("s", "x1");
        await AssertRawAsync("-ERR value is not a valid float\r\n", "INCRBYFLOAT", "s", "1");
    }

    [Fact]
    public async Task AppendStrlenGetrangeGetset_FollowRedis()
    {
        Assert.Equal(5, await Db.StringAppendAsync("a", "hello"));
        Assert.Equal(11, await Db.StringAppendAsync("a", " world"));
        Assert.Equal(11, await Db.StringLengthAsync("a"));
        Assert.Equal(0, await Db.StringLengthAsync("missing"));
        Assert.Equal("hello", (string?)await Db.StringGetRangeAsync("a", 0, 4));
        Assert.Equal("world", (string?)await Db.StringGetRangeAsync("a", -5, -1));
        Assert.Equal("hello world", (string?)await Db.StringGetRangeAsync("a", 0, 100));
        Assert.Equal("", (string?)await Db.StringGetRangeAsync("a", 5, 2));
        Assert.Equal("", (string?)await Db.StringGetRangeAsync("a", -1, -5));
        Assert.Equal("", (string?)await Db.StringGetRangeAsync("missing", 0, -1));
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "GETRANGE", "a", "x", "1");

        await Db.StringSetAsync("g", "old", TimeSpan.FromSeconds(100));
        Assert.Equal("old", (string?)await Db.StringGetSetAsync("g", "new"));
        Assert.Null(await Db.KeyTimeToLiveAsync("g")); // GETSET drops the expiry, as SET does
        Assert.True((await Db.StringGetSetAsync("fresh", "v")).IsNull);
        Assert.Equal("v", (string?)await Db.StringGetAsync("fresh"));
    }

    [Fact]
    public async Task SetRange_OverwritesPadsAndKeepsTheExpiry()
    {
        Assert.Equal(0, (long)await Db.StringSetRangeAsync("none", 3, ""));
        Assert.False(await Db.KeyExistsAsync("none")); // an empty patch creates nothing
        await Db.StringSetAsync("a", "Hello World", TimeSpan.FromSeconds(100));
        Assert.Equal(11, (long)await Db.StringSetRangeAsync("a", 6, "Redis"));
        Assert.Equal("Hello Redis", (string?)await Db.StringGetAsync("a"));
        Assert.Equal(11, (long)await Db.StringSetRangeAsync("a", 0, ""));
        Assert.Equal(13, (long)await Db.StringSetRangeAsync("a", 10, "sss"));
        Assert.Equal("Hello Redisss", (string?)await Db.StringGetAsync("a"));
        Assert.NotNull(await Db.KeyTimeToLiveAsync("a"));
        Assert.Equal(6, (long)await Db.StringSetRangeAsync("pad", 5, "x"));
        Assert.Equal("\0\0\0\0\0x", (string?)await Db.StringGetAsync("pad"));
        await AssertRawAsync("-ERR offset is out of range\r\n", "SETRANGE", "a", "-1", "x");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "SETRANGE", "a", "one", "x");
        await AssertRawAsync("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "SETRANGE", "a", "536870912", "x");
    }

    [Fact]
    public async Task MemoryUsage_GrowsWithTheEntry_NilForAMissingKey()
    {
        Assert.True((await Db.ExecuteAsync("MEMORY", "USAGE", "missing")).IsNull);
        await Db.StringSetAsync("small", "v");
        await Db.StringSetAsync("large", new string('v', 1001));
        await Db.StringSetAsync("expiring", new string('v', 1001), TimeSpan.FromSeconds(100));
        var small = (long)await Db.ExecuteAsync("MEMORY", "USAGE", "small");
        var large = (long)await Db.ExecuteAsync("MEMORY", "USAGE", "large", "SAMPLES", "5");
        var expiring = (long)await Db.ExecuteAsync("MEMORY", "USAGE", "expiring");
        Assert.InRange(small, 8 + 5 + 1, 200); // the token and key, the value, and a node's header and links
        Assert.InRange(large - small, 1000 - 7, 1000 + 7); // alignment to 8 aside, what the value adds
        Assert.True(expiring > large); // the expiry is stored with the value
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "MEMORY", "USAGE", "small", "SAMPLES", "x");
        await AssertRawAsync("-ERR syntax error\r\n", "MEMORY", "USAGE", "small", "FOO", "1");
        await AssertRawAsync("-ERR unknown subcommand 'STATS'. Try MEMORY HELP.\r\n", "MEMORY", "STATS");
        await AssertRawAsync("*5\r\n+MEMORY <subcommand>", "MEMORY", "HELP");
    }

    [Fact]
    public async Task Object_EncodingAndRefcount_OthersRefused()
    {
        await Db.StringSetAsync("o", "12345");
        await AssertRawAsync("$3\r\nraw\r\n", "OBJECT", "ENCODING", "o");
        await AssertRawAsync(":1\r\n", "OBJECT", "REFCOUNT", "o");
        await AssertRawAsync("$-1\r\n", "OBJECT", "ENCODING", "missing");
        await AssertRawAsync("-ERR kv-node keeps no access times", "OBJECT", "IDLETIME", "o");
        await AssertRawAsync("-ERR wrong number of arguments for 'object|encoding' command\r\n", "OBJECT", "ENCODING");
        await AssertRawAsync("-ERR unknown subcommand 'X'. Try OBJECT HELP.\r\n", "OBJECT", "X");
    }

    [Fact]
    public async Task ClientKill_ByIdAddressAndFilters_ClosesOnlyThoseConnections()
    {
        using var victim = await Server.RawAsync();
        await victim.SendAsync("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n");
        var victimId = (await victim.ReceiveRepliesAsync(1)).Trim().TrimStart(':');
        using var bystander = await Server.RawAsync();
        using var admin = await Server.RawAsync();
        async Task<string> Ask(params string[] args)
        {
            var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
            foreach (var a in args) request.Append('$').Append(a.Length).Append("\r\n").Append(a).Append("\r\n");
            await admin.SendAsync(request.ToString());
            return await admin.ReceiveRepliesAsync(1);
        }

        Assert.Equal(":0\r\n", await Ask("CLIENT", "KILL", "ID", "999999"));
        Assert.Equal(":0\r\n", await Ask("CLIENT", "KILL", "ID", victimId, "TYPE", "pubsub"));
        Assert.Equal(":1\r\n", await Ask("CLIENT", "KILL", "ID", victimId, "TYPE", "normal", "USER", "default"));
        var (text, closed) = await victim.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(10));
        Assert.True(closed);
        Assert.Equal("", text); // closed silently, as Redis does: an unasked-for reply would confuse client libraries

        // The old form, by address; the bystander is untouched and still served.
        var list = await Ask("CLIENT", "LIST");
        Assert.DoesNotContain($"id={victimId} ", list);
        Assert.Equal("-ERR No such client\r\n", await Ask("CLIENT", "KILL", "10.1.2.3:4567"));
        await bystander.SendAsync("*1\r\n$4\r\nPING\r\n");
        Assert.Equal("+PONG\r\n", await bystander.ReceiveRepliesAsync(1));

        Assert.Equal("-ERR client-id should be greater than 0\r\n", await Ask("CLIENT", "KILL", "ID", "0"));
        Assert.Equal("-ERR syntax error\r\n", await Ask("CLIENT", "KILL", "ID", "1", "SKIPME"));
        Assert.Equal("-ERR syntax error\r\n", await Ask("CLIENT", "KILL", "COLOUR", "red"));
        Assert.Equal("-ERR Unknown client type 'x'\r\n", await Ask("CLIENT", "KILL", "TYPE", "x"));
        Assert.Equal("-ERR No such user 'bob'\r\n", await Ask("CLIENT", "KILL", "USER", "bob"));

        // SKIPME no: the asking connection is closed too, after its reply.
        await admin.SendAsync("*6\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$6\r\nMAXAGE\r\n$1\r\n0\r\n$6\r\nSKIPME\r\n$2\r\nno\r\n");
        var (last, adminClosed) = await admin.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(10));
        Assert.True(adminClosed);
        Assert.Matches(@"^:\d+\r\n$", last);
    }

    [Fact]
    public async Task MSetNx_AllOrNothing()
    {
        Assert.True(await Db.StringSetAsync([new("n1", "a"), new("n2", "b")], When.NotExists));
        Assert.Equal("a", (string?)await Db.StringGetAsync("n1"));
        await Db.StringSetAsync("n4", "old", TimeSpan.FromSeconds(100));
        Assert.False(await Db.StringSetAsync([new("n3", "c"), new("n4", "d")], When.NotExists));
        Assert.False(await Db.KeyExistsAsync("n3")); // nothing written when one key exists
        Assert.Equal("old", (string?)await Db.StringGetAsync("n4"));
        await AssertRawAsync(":1\r\n", "MSETNX", "dup", "1", "dup", "2");
        Assert.Equal("2", (string?)await Db.StringGetAsync("dup")); // the last pair of a key wins, as in Redis
        await AssertRawAsync("-ERR wrong number of arguments for 'msetnx' command\r\n", "MSETNX", "k", "v", "k2");
    }

    [Fact]
    public async Task KeysTouchExpireTime_FollowRedis()
    {
        for (var i = 0; i < 30; i++) await Db.StringSetAsync("user:" + i, "x");
        await Db.StringSetAsync("other", "x");
        var users = (RedisResult[])(await Db.ExecuteAsync("KEYS", "user:*"))!;
        Assert.Equal(Enumerable.Range(0, 30).Select(i => "user:" + i).Order(), users.Select(u => (string)u!).Order());
        var all = (RedisResult[])(await Db.ExecuteAsync("KEYS", "*"))!;
        Assert.Equal(31, all.Length);
        Assert.Empty((RedisResult[])(await Db.ExecuteAsync("KEYS", "nothing*"))!);

        Assert.Equal(2, (long)await Db.ExecuteAsync("TOUCH", "user:1", "other", "missing"));

        var at = Time.GetUtcNow().ToUnixTimeMilliseconds() + 100_000;
        await Db.StringSetAsync("e", "v");
        await Db.KeyExpireAsync("e", DateTimeOffset.FromUnixTimeMilliseconds(at).UtcDateTime);
        Assert.Equal(at / 1000, (long)await Db.ExecuteAsync("EXPIRETIME", "e"));
        Assert.Equal(at, (long)await Db.ExecuteAsync("PEXPIRETIME", "e"));
        Assert.Equal(-1, (long)await Db.ExecuteAsync("EXPIRETIME", "other"));
        Assert.Equal(-2, (long)await Db.ExecuteAsync("PEXPIRETIME", "missing"));
    }

    [Fact]
    public async Task RenameAndRenameNx_MoveTheValueWithItsExpiry()
    {
        await Db.StringSetAsync("src", "v1", TimeSpan.FromSeconds(100));
        await Db.StringSetAsync("dst", "old");
        Assert.True(await Db.KeyRenameAsync("src", "dst"));
        Assert.False(await Db.KeyExistsAsync("src"));
        Assert.Equal("v1", (string?)await Db.StringGetAsync("dst"));
        var ttl = await Db.KeyTimeToLiveAsync("dst");
        Assert.True(ttl > TimeSpan.FromSeconds(90), $"ttl {ttl}");
        await AssertRawAsync("-ERR no such key\r\n", "RENAME", "src", "dst");
        await AssertRawAsync("+OK\r\n", "RENAME", "dst", "dst");

        await Db.StringSetAsync("a", "1");
        await Db.StringSetAsync("b", "2");
        Assert.False(await Db.KeyRenameAsync("a", "b", When.NotExists));
        Assert.Equal("1", (string?)await Db.StringGetAsync("a"));
        Assert.Equal("2", (string?)await Db.StringGetAsync("b"));
        Assert.True(await Db.KeyRenameAsync("a", "c", When.NotExists));
        Assert.Equal("1", (string?)await Db.StringGetAsync("c"));
        Assert.Null((await Db.KeyTimeToLiveAsync("c")));
        await AssertRawAsync(":0\r\n", "RENAMENX", "c", "c");
        await AssertRawAsync("-ERR no such key\r\n", "RENAMENX", "missing", "x");
    }

    [Fact]
    public async Task Multi_Refused_EveryCommandUpToExecRefusedAndNothingApplied()
    {
        using var raw = await Server.RawAsync();
        // Writes whose replies may still be pending, a client library's transaction, pipelined, then plain commands again.
        await raw.SendAsync("SET tx:p 1\r\nSET tx:q 1\r\nMULTI\r\nSET tx:a 1\r\nMULTI\r\nEXEC\r\nGET tx:a\r\nEXEC\r\nWATCH tx:a\r\nUNWATCH\r\nMULTI\r\nDISCARD\r\nSET tx:a 2\r\nGET tx:a\r\n");
        const string refusedMulti = "-ERR MULTI is not supported: KvStore has no transactions; commands up to EXEC or DISCARD are refused and EXEC aborts\r\n";
        Assert.Equal(
            "+OK\r\n+OK\r\n" +
            refusedMulti +
            "-ERR 'SET' refused: this connection sent MULTI, and KvStore has no transactions; send EXEC or DISCARD to end it\r\n" +
            "-ERR MULTI calls can not be nested\r\n" +
            "-EXECABORT Transaction discarded because of previous errors.\r\n" +
            "$-1\r\n" +
            "-ERR EXEC without MULTI\r\n" +
            "-ERR WATCH is not supported: KvStore has no transactions\r\n" +
            "+OK\r\n" +
            refusedMulti +
            "+OK\r\n" +
            "+OK\r\n" +
            "$1\r\n2\r\n",
            await raw.ReceiveRepliesAsync(14));
    }

    [Fact]
    public async Task DbSizeAndFlushAll_CountThenEmpty()
    {
        await Db.StringSetAsync([new("a", "1"), new("b", "2")]);
        var server = Redis.GetServer(Server.EndPoint);
        Assert.True(await server.DatabaseSizeAsync() >= 2);
        await server.FlushAllDatabasesAsync();
        Assert.False(await Db.KeyExistsAsync("a"));
        Assert.False(await Db.KeyExistsAsync("b"));
    }

    [Fact]
    public async Task Info_Sections_IncludeEngineAndClusterDisabled()
    {
        var server = Redis.GetServer(Server.EndPoint);
        var all = await server.InfoRawAsync("everything");
        foreach (var section in new[] { "# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace", "# Engine", "# Cluster" })
            Assert.Contains(section, all);
        Assert.Contains("cluster_enabled:0", all);
        Assert.Contains("redis_version:", all);
        var one = await server.InfoRawAsync("clients");
        Assert.Contains("connected_clients:", one);
        Assert.DoesNotContain("# Server", one);

        static long Allocated(string? info) => long.Parse(info!.Split("\r\n").Single(l => l.StartsWith("gc_allocated_bytes:", StringComparison.Ordinal))["gc_allocated_bytes:".Length..]);
        var before = Allocated(await server.InfoRawAsync("memory"));
        for (var i = 0; i < 100; i++) await Db.StringSetAsync("alloc" + i, new string('v', 1000));
        var memory = await server.InfoRawAsync("memory");
        Assert.True(Allocated(memory) > before);
        // The pause total is a whole number of milliseconds that never goes backwards.
        static long Paused(string? info) => long.Parse(info!.Split("\r\n").Single(l => l.StartsWith("gc_pause_total_ms:", StringComparison.Ordinal))["gc_pause_total_ms:".Length..]);
        var paused = Paused(memory);
        Assert.InRange(paused, 0, long.MaxValue);
        Assert.Contains("gc_collections_gen1:", memory);
        Assert.True(Paused(await server.InfoRawAsync("memory")) >= paused);
    }

    [Fact]
    public async Task Info_Commandstats_CountsCallsAndRefusalsPerCommand_OnlyWhenAsked()
    {
        var server = Redis.GetServer(Server.EndPoint);
        var before = await CommandstatsAsync(); // the client's own handshake ran commands (a GET among them)
        for (var i = 0; i < 3; i++) await Db.StringSetAsync("counted" + i, "v");
        for (var i = 0; i < 2; i++) await Db.StringGetAsync("counted" + i);
        await AssertRawAsync("-ERR wrong number of arguments for 'get' command\r\n", "GET", "a", "b");
        var after = await CommandstatsAsync();

        Assert.DoesNotContain("# Commandstats", await server.InfoRawAsync());
        Assert.Contains("# Commandstats", await server.InfoRawAsync("everything"));
        Assert.Equal(3, Delta("set", "calls"));
        Assert.Equal(0, Delta("set", "rejected_calls"));
        Assert.Equal(2, Delta("get", "calls"));
        Assert.Equal(1, Delta("get", "rejected_calls"));
        Assert.Equal(0, Delta("get", "failed_calls"));
        Assert.False(after.ContainsKey("mset")); // never called: not listed

        long Delta(string command, string field) =>
            after[command][field] - (before.TryGetValue(command, out var was) ? was[field] : 0);

        async Task<Dictionary<string, Dictionary<string, long>>> CommandstatsAsync()
        {
            var lines = (await server.InfoRawAsync("commandstats"))!.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("# Commandstats", lines[0]);
            return lines.Skip(1).ToDictionary(
                l => l["cmdstat_".Length..l.IndexOf(':')],
                l => l[(l.IndexOf(':') + 1)..].Split(',').Select(f => f.Split('='))
                      .ToDictionary(f => f[0], f => (long)double.Parse(f[1], CultureInfo.InvariantCulture)));
        }
    }

    [Fact]
    public async Task ConfigGet_AnswersWhatBenchmarksAsk()
    {
        var server = Redis.GetServer(Server.EndPoint);
        var save = await server.ConfigGetAsync("save");
        Assert.Equal("", Assert.Single(save).Value);
        var append = await server.ConfigGetAsync("appendonly");
        Assert.Equal("yes", Assert.Single(append).Value);
        Assert.Contains(await server.ConfigGetAsync("max*"), p => p.Key == "maxclients");
        await AssertRawAsync("*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n", "CONFIG", "GET", "databases");
        await AssertRawAsync("-ERR CONFIG SET is not supported", "CONFIG", "SET", "x", "y");
    }

    [Fact]
    public async Task Client_Subcommands_Work()
    {
        await AssertRawAsync("$-1\r\n", "CLIENT", "GETNAME");
        var server = Redis.GetServer(Server.EndPoint);
        var list = await server.ClientListAsync();
        Assert.NotEmpty(list);
        using var raw = await Server.RawAsync();
        await raw.SendAsync("*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$4\r\nnick\r\n*2\r\n$6\r\nCLIENT\r\n$7\r\nGETNAME\r\n*4\r\n$6\r\nCLIENT\r\n$7\r\nSETINFO\r\n$8\r\nlib-name\r\n$3\r\nabc\r\n");
        Assert.Equal("+OK\r\n$4\r\nnick\r\n+OK\r\n", await raw.ReceiveAsync(20));
        await raw.SendAsync("*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n");
        var info = await raw.ReceiveRepliesAsync(1);
        Assert.Contains("name=nick", info);
        await AssertRawAsync("-ERR Client names cannot contain spaces, newlines or special characters.\r\n", "CLIENT", "SETNAME", "a b");
        await AssertRawAsync("-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n", "CLIENT", "FOO");
        var id = await RawAsync(":", "CLIENT", "ID");
        Assert.Equal(":", id);
    }

    [Fact]
    public async Task Command_CountInfoDocs_DescribeTheTable()
    {
        var count = await RawAsync(":", "COMMAND", "COUNT");
        Assert.Equal(":", count);
        await AssertRawAsync("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n", "COMMAND", "INFO", "get");
        await AssertRawAsync("*1\r\n*-1\r\n", "COMMAND", "INFO", "nosuch");
        await AssertRawAsync("*2\r\n$3\r\nset\r\n*6\r\n$7\r\nsummary\r\n", "COMMAND", "DOCS", "set");
    }

    [Fact]
    public async Task Select_OnlyDatabaseZero()
    {
        await AssertRawAsync("+OK\r\n", "SELECT", "0");
        await AssertRawAsync("-ERR DB index is out of range\r\n", "SELECT", "1");
        await AssertRawAsync("-ERR value is not an integer or out of range\r\n", "SELECT", "x");
    }

    [Fact]
    public async Task Errors_UnknownCommandAndArity_UseRedisWording()
    {
        await AssertRawAsync("-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n", "foo", "a", "b");
        await AssertRawAsync("-ERR wrong number of arguments for 'get' command\r\n", "GET");
        await AssertRawAsync("-ERR wrong number of arguments for 'get' command\r\n", "get", "a", "b");
        await AssertRawAsync("-ERR unknown command 'xyz', with args beginning with: \r\n", "xyz");
    }

    [Fact]
    public async Task Inline_Commands_Work()
    {
        using var raw = await Server.RawAsync();
        await raw.SendAsync("PING\r\nSET inl \"hello world\"\nGET inl\r\n");
        Assert.Equal("+PONG\r\n+OK\r\n$11\r\nhello world\r\n", await raw.ReceiveAsync(30));
    }

    [Fact]
    public async Task Hello3_SwitchesToResp3()
    {
        await using var resp3 = await Server.ConnectAsync(protocol: 3);
        var db = resp3.GetDatabase();
        await db.StringSetAsync("h", "v");
        Assert.Equal("v", await db.StringGetAsync("h"));
        Assert.True((await db.StringGetAsync("none")).IsNull);
        using var raw = await Server.RawAsync();
        await raw.SendAsync("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n");
        var reply = await raw.ReceiveRepliesAsync(2);
        Assert.StartsWith("%7\r\n$6\r\nserver\r\n", reply);
        Assert.EndsWith("_\r\n", reply);
        await AssertRawAsync("-NOPROTO unsupported protocol version\r\n", "HELLO", "4");
    }

    [Fact]
    public async Task Pipeline_ThousandsOfCommands_RepliesInOrder()
    {
        var batch = Db.CreateBatch();
        var sets = new List<Task<bool>>();
        var gets = new List<Task<RedisValue>>();
        for (var i = 0; i < 2000; i++)
        {
            sets.Add(batch.StringSetAsync("p" + i, "v" + i));
            gets.Add(batch.StringGetAsync("p" + i));
        }
        batch.Execute();
        await Task.WhenAll(sets);
        var values = await Task.WhenAll(gets);
        for (var i = 0; i < values.Length; i++) Assert.Equal("v" + i, values[i]);
    }

    [Fact]
    public async Task ConcurrentClients_IndependentKeys_AllWritesVisible()
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Server.ConnectAsync()));
        try
        {
            await Task.WhenAll(clients.Select((c, n) => Task.Run(async () =>
            {
                var db = c.GetDatabase();
                var tasks = new List<Task>();
                for (var i = 0; i < 300; i++) tasks.Add(db.StringSetAsync($"c{n}:{i}", i));
                await Task.WhenAll(tasks);
            })));
            for (var n = 0; n < clients.Length; n++)
            {
                for (var i = 0; i < 300; i += 37) Assert.Equal(i, (int)await Db.StringGetAsync($"c{n}:{i}"));
            }
            // SETNX races: exactly one winner per key
            var wins = await Task.WhenAll(clients.Select(c => c.GetDatabase().StringSetAsync("race", "x", when: When.NotExists)));
            Assert.Equal(1, wins.Count(w => w));
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Quit_RepliesOkAndCloses()
    {
        using var raw = await Server.RawAsync();
        await raw.SendAsync("*1\r\n$4\r\nQUIT\r\n");
        var (text, closed) = await raw.ReceiveUntilClosedAsync();
        Assert.Equal("+OK\r\n", text);
        Assert.True(closed);
    }

    [Fact]
    public async Task Shutdown_FromAdmin_SignalsTheHost()
    {
        using var raw = await Server.RawAsync();
        await raw.SendAsync("*1\r\n$8\r\nSHUTDOWN\r\n");
        var (_, closed) = await raw.ReceiveUntilClosedAsync();
        Assert.True(closed);
        Assert.True(Server.Server.ShutdownRequested.IsCompleted);
    }
}
