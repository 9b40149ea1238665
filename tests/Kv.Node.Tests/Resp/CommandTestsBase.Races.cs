using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Resp;

/// <summary>Commands racing each other from several connections: what stays atomic on a node.</summary>
public abstract partial class CommandTestsBase
{
    [Fact]
    public async Task MSetNx_RacingOverTheSameKeys_ExactlyOneWinsWhole()
    {
        // Eight connections race each round to MSETNX the same two keys, half of them naming the keys in the other
        // order (so a lock taken per key in argument order could deadlock): one must win, with both of its values.
        const int clients = 8, rounds = 40;
        using var raws = await RawClientsAsync(clients);
        for (var round = 0; round < rounds; round++)
        {
            var x = $"r{round:D3}x";
            var y = $"r{round:D3}y";
            var replies = await Task.WhenAll(raws.Select(async (raw, i) =>
            {
                var (first, second) = i % 2 == 0 ? (x, y) : (y, x);
                await raw.SendAsync($"*5\r\n$6\r\nMSETNX\r\n$5\r\n{first}\r\n$1\r\n{i}\r\n$5\r\n{second}\r\n$1\r\n{i}\r\n");
                return await raw.ReceiveRepliesAsync(1);
            }));
            Assert.Equal(1, replies.Count(r => r == ":1\r\n"));
            Assert.Equal(clients - 1, replies.Count(r => r == ":0\r\n"));
            Assert.Equal((string?)await Db.StringGetAsync(x), (string?)await Db.StringGetAsync(y));
        }
    }

    [Fact]
    public async Task Incr_RacingWithPlainSet_NeverUndoesTheAcknowledgedSet()
    {
        // Four connections INCR one key without pause while a fifth SETs it to a large base and waits for the ack; then
        // the INCRs stop. Each INCR is atomic: ordered before the SET (which overwrites it) or after it (adding to the
        // base), so the key ends at the base or above. An INCR that read the old count before the SET but wrote after
        // it would leave a small number: the acknowledged SET lost.
        const int incrementers = 4, rounds = 150;
        using var raws = await RawClientsAsync(incrementers);
        using var setter = await Server.RawAsync();
        for (var round = 0; round < rounds; round++)
        {
            var key = $"race{round:D3}";
            var stop = 0;
            var started = 0;
            var loops = raws.Select(raw => Task.Run(async () =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    await raw.SendAsync($"*2\r\n$4\r\nINCR\r\n${key.Length}\r\n{key}\r\n");
                    var reply = await raw.ReceiveRepliesAsync(1);
                    Assert.StartsWith(":", reply);
                    Interlocked.Increment(ref started);
                }
            })).ToList();
            while (Volatile.Read(ref started) < incrementers * 2 && !loops.Any(l => l.IsFaulted)) await Task.Delay(1);
            var value = ((round + 1) * 1_000_000L).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await setter.SendAsync($"*3\r\n$3\r\nSET\r\n${key.Length}\r\n{key}\r\n${value.Length}\r\n{value}\r\n");
            Assert.Equal("+OK\r\n", await setter.ReceiveRepliesAsync(1));
            Volatile.Write(ref stop, 1);
            await Task.WhenAll(loops);
            var final = long.Parse((string)(await Db.StringGetAsync(key))!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(final >= (round + 1) * 1_000_000L, $"round {round}: {key} is {final} after SET {value} was acknowledged");
        }
    }

    [Fact]
    public async Task Incr_PipelinedOnOneKeyFromManyConnections_EveryReplyDistinctAndTheCountExact()
    {
        // redis-benchmark's INCR test in miniature: many clients, one counter, requests pipelined. Every INCR must see
        // every one before it, acknowledged or still on its way to the disk: the replies are then exactly 1..N.
        const int clients = 6, perClient = 150;
        using var raws = await RawClientsAsync(clients);
        var command = string.Concat(Enumerable.Repeat("*2\r\n$4\r\nINCR\r\n$3\r\nhot\r\n", perClient));
        var replies = await Task.WhenAll(raws.Select(async raw =>
        {
            await raw.SendAsync(command);
            return await raw.ReceiveRepliesAsync(perClient);
        }));
        var counts = replies.SelectMany(r => r.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            .Select(line => long.Parse(line.TrimStart(':'), System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, clients * perClient).Select(i => (long)i), counts);
        Assert.Equal(clients * perClient, (long)await Db.StringGetAsync("hot"));
    }

    [Fact]
    public async Task GetDel_RacingWithPipelinedIncr_NoIncrementLostOrCountedTwice()
    {
        // Four connections pipeline INCRs of one key while a fifth keeps taking it away with GETDEL: every increment
        // ends up in exactly one GETDEL's value or in what is left. An INCR that missed a deletion still on its way to
        // the disk would count increments twice; one that missed an INCR would lose one.
        const int incrementers = 4, perClient = 200;
        using var raws = await RawClientsAsync(incrementers);
        using var taker = await Server.RawAsync();
        var command = string.Concat(Enumerable.Repeat("*2\r\n$4\r\nINCR\r\n$4\r\ntake\r\n", perClient));
        var incrs = raws.Select(raw => Task.Run(async () =>
        {
            await raw.SendAsync(command);
            await raw.ReceiveRepliesAsync(perClient);
        })).ToList();
        long taken = 0;
        while (true)
        {
            var done = incrs.All(t => t.IsCompleted);
            await taker.SendAsync("*2\r\n$6\r\nGETDEL\r\n$4\r\ntake\r\n");
            var reply = await taker.ReceiveRepliesAsync(1);
            if (reply != "$-1\r\n") taken += long.Parse(reply.Split("\r\n")[1], System.Globalization.CultureInfo.InvariantCulture);
            if (done) break;
        }
        await Task.WhenAll(incrs);
        var left = (string?)await Db.StringGetAsync("take");
        Assert.Equal(incrementers * perClient, taken + (left is null ? 0 : long.Parse(left, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Append_RacingPastTheSizeWhereWritesStopBeingPipelined_EveryPieceKept()
    {
        // Small values of a read-modify-write are read back before their write is applied; past 4 KiB the command keeps
        // the key's lock until its write is applied instead. Appends from several connections cross that size.
        const int clients = 4, perClient = 40;
        var piece = new string('a', 100);
        using var raws = await RawClientsAsync(clients);
        var command = string.Concat(Enumerable.Repeat($"*3\r\n$6\r\nAPPEND\r\n$4\r\ngrow\r\n$100\r\n{piece}\r\n", perClient));
        var replies = await Task.WhenAll(raws.Select(async raw =>
        {
            await raw.SendAsync(command);
            return await raw.ReceiveRepliesAsync(perClient);
        }));
        var lengths = replies.SelectMany(r => r.Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            .Select(line => long.Parse(line.TrimStart(':'), System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, clients * perClient).Select(i => i * 100L), lengths);
        Assert.Equal(clients * perClient * 100, ((string)(await Db.StringGetAsync("grow"))!).Length);
    }

    /// <summary>Several raw connections to the server, closed together.</summary>
    [Fact]
    public async Task Incr_FromManyConnectionsAtOnce_LosesNoIncrement()
    {
        // Eight connections each pipeline 250 INCRs of one key: a read-modify-write that let two of them interleave
        // would lose increments.
        const int clients = 8, each = 250;
        var request = string.Concat(Enumerable.Repeat("*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n", each));
        using var raws = await RawClientsAsync(clients);
        await Task.WhenAll(raws.Select(r => r.SendAsync(request)));
        await Task.WhenAll(raws.Select(r => r.ReceiveRepliesAsync(each)));
        Assert.Equal(clients * each, (long)await Db.StringGetAsync("counter"));
    }

    [Fact]
    public async Task Rename_BackAndForthFromManyConnections_KeepsExactlyOneCopy()
    {
        // Renames in both directions at once take both keys' locks in one order, so they cannot deadlock (taking the
        // source's first hangs here: no replies), and the value ends up under exactly one of the two names.
        await Db.StringSetAsync("ping", "ball");
        var there = string.Concat(Enumerable.Repeat("RENAME ping pong\r\n", 100));
        var back = string.Concat(Enumerable.Repeat("RENAME pong ping\r\n", 100));
        using (var raws = await RawClientsAsync(6))
        {
            await Task.WhenAll(raws.Select((r, i) => r.SendAsync(i % 2 == 0 ? there : back)));
            foreach (var replies in await Task.WhenAll(raws.Select(r => r.ReceiveRepliesAsync(100))))
            {
                var lines = replies.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(100, lines.Length);
                Assert.All(lines, l => Assert.True(l is "+OK" or "-ERR no such key", l));
            }
        }
        var values = new[] { (string?)await Db.StringGetAsync("ping"), (string?)await Db.StringGetAsync("pong") };
        Assert.Single(values, v => v is not null);
        Assert.Contains("ball", values);
    }

    private sealed class RawClients : List<RawClient>, IDisposable
    {
        public void Dispose()
        {
            foreach (var client in this) client.Dispose();
        }
    }

    private async Task<RawClients> RawClientsAsync(int count)
    {
        var clients = new RawClients();
        try
        {
            for (var i = 0; i < count; i++) clients.Add(await Server.RawAsync());
        }
        catch
        {
            clients.Dispose();
            throw;
        }
        return clients;
    }
}
