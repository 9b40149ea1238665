using System.Globalization;
using Kv.Node.Tests.Storage;
using Kv.Node.Tests.Support;
using StackExchange.Redis;

namespace Kv.Node.Tests.Resp;

/// <summary>SAVE / LASTSAVE / SCRUB against a whole node, and the engine counters INFO publishes.</summary>
public sealed class MaintenanceCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly ManualTimeProvider _time = new();
    private TestServer _node = null!;
    private ConnectionMultiplexer _redis = null!;

    private IDatabase Db => _redis.GetDatabase();

    public async Task InitializeAsync()
    {
        // One open table at most, so that reads across two tables go through the table cache's hits and misses.
        _node = await TestServer.StartNodeAsync(_directory.Path, _time, o => o.MaxOpenTables = 1);
        _redis = await _node.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _node.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<Dictionary<string, string>> InfoAsync(string section)
    {
        var text = await _redis.GetServer(_node.EndPoint).InfoRawAsync(section);
        var fields = new Dictionary<string, string>();
        foreach (var line in text!.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && !line.StartsWith('#')) fields[line[..colon]] = line[(colon + 1)..];
        }
        return fields;
    }

    private static long Long(Dictionary<string, string> info, string field) =>
        long.Parse(info[field], CultureInfo.InvariantCulture);

    private static double Double(Dictionary<string, string> info, string field) =>
        double.Parse(info[field], CultureInfo.InvariantCulture);

    private async Task WriteKeysAsync(string prefix, int count)
    {
        var writes = new List<Task>();
        for (var i = 0; i < count; i++) writes.Add(Db.StringSetAsync($"{prefix}{i}", $"value-{i}"));
        await Task.WhenAll(writes);
    }

    [Fact]
    public async Task Info_AfterWritesFlushesAndReads_EngineCountersArePresentAndMove()
    {
        var start = await InfoAsync("engine");
        Assert.Equal("none", start["engine_last_scrub"]);

        await WriteKeysAsync("a", 200);
        var written = await InfoAsync("engine");
        // The node writes through WriteAsync: these stayed 0 while only the synchronous commit queue counted.
        Assert.True(Long(written, "engine_group_commits") > Long(start, "engine_group_commits"));
        Assert.True(Long(written, "engine_wal_writes") > Long(start, "engine_wal_writes"));
        Assert.True(Long(written, "engine_grouped_writes") >= Long(start, "engine_grouped_writes") + 200);
        Assert.InRange(Long(written, "engine_group_commits"), 1, Long(written, "engine_grouped_writes"));
        Assert.True(Double(written, "engine_writes_per_fsync") >= 1);
        Assert.InRange(Long(written, "engine_wal_sync_p99_us"), Long(written, "engine_wal_sync_p50_us"), Long(written, "engine_wal_sync_max_us"));
        Assert.True(Long(written, "engine_wal_sync_p999_us") >= Long(written, "engine_wal_sync_p99_us"));
        Assert.Contains("engine_sync_nudges", written.Keys);

        _node.Host!.Database.Flush();
        await WriteKeysAsync("b", 200);
        _node.Host.Database.Flush(); // two tables, one open at a time

        var before = await InfoAsync("engine");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal($"value-{i}", await Db.StringGetAsync($"a{i}"));
            Assert.Equal($"value-{i}", await Db.StringGetAsync($"b{i}"));
            Assert.True((await Db.StringGetAsync($"missing{i}")).IsNull);
        }
        var after = await InfoAsync("engine");

        Assert.True(Long(after, "engine_point_reads") >= Long(before, "engine_point_reads") + 150);
        Assert.True(Long(after, "engine_read_tables_considered") > Long(before, "engine_read_tables_considered"));
        Assert.True(Long(after, "engine_bloom_checks") > Long(before, "engine_bloom_checks"));
        Assert.True(Long(after, "engine_bloom_negatives") > Long(before, "engine_bloom_negatives")); // the missing keys
        Assert.True(Long(after, "engine_bloom_false_positives") >= Long(before, "engine_bloom_false_positives"));
        Assert.True(Long(after, "engine_read_blocks") > Long(before, "engine_read_blocks"));
        Assert.True(Double(after, "engine_tables_probed_per_read") > 0);
        Assert.True(Double(after, "engine_blocks_per_read") > 0);
        Assert.InRange(Double(after, "engine_bloom_useful_rate"), 0, 1);
        Assert.True(Long(after, "engine_table_cache_hits") > Long(before, "engine_table_cache_hits"));
        Assert.True(Long(after, "engine_table_cache_misses") > Long(before, "engine_table_cache_misses")); // alternating tables
        Assert.InRange(Long(after, "engine_open_tables"), 0, 1);

        await Db.ExecuteAsync("SCRUB");
        var scrubbed = await InfoAsync("engine");
        Assert.StartsWith("time=" + _time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + ",tables=2,", scrubbed["engine_last_scrub"]);
        Assert.EndsWith(",errors=0", scrubbed["engine_last_scrub"]);
    }

    [Fact]
    public async Task Save_Named_SnapshotRestoredAsTheEngineServesEveryKeyAcknowledgedBefore()
    {
        Assert.Equal(0, (long)await Db.ExecuteAsync("LASTSAVE"));
        Assert.Equal("none", (await InfoAsync("persistence"))["kv_last_checkpoint"]);
        await WriteKeysAsync("k", 300);
        await Db.KeyDeleteAsync("k7");

        Assert.Equal("OK", (await Db.ExecuteAsync("SAVE", "nightly-1")).ToString());
        await Db.StringSetAsync("after", "x");

        var snapshot = Path.Combine(_directory.Path, "snapshots", "nightly-1");
        Assert.True(File.Exists(Path.Combine(snapshot, "CURRENT")));
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), (long)await Db.ExecuteAsync("LASTSAVE"));
        var persistence = await InfoAsync("persistence");
        Assert.StartsWith($"dir={snapshot},tables=", persistence["kv_last_checkpoint"]);
        Assert.Equal(_time.GetUtcNow().ToUnixTimeSeconds(), Long(persistence, "rdb_last_save_time"));

        // The documented restore: the snapshot becomes <data>/engine of a (here: another) node.
        using var restored = new TempDirectory();
        var engine = Directory.CreateDirectory(Path.Combine(restored.Path, "engine")).FullName;
        foreach (var file in Directory.EnumerateFiles(snapshot)) File.Copy(file, Path.Combine(engine, Path.GetFileName(file)));
        await using var node = await TestServer.StartNodeAsync(restored.Path, _time);
        await using var redis = await node.ConnectAsync();
        var db = redis.GetDatabase();
        for (var i = 0; i < 300; i++)
        {
            if (i == 7) Assert.True((await db.StringGetAsync("k7")).IsNull);
            else Assert.Equal($"value-{i}", await db.StringGetAsync($"k{i}"));
        }
        Assert.True((await db.StringGetAsync("after")).IsNull);
    }

    [Fact]
    public async Task Save_InvalidNameTakenNameOrExtraArguments_ClearErrors()
    {
        await Db.StringSetAsync("k", "v");
        Assert.Equal("OK", (await Db.ExecuteAsync("SAVE")).ToString()); // default name: the UTC time
        Assert.True(Directory.Exists(Path.Combine(_directory.Path, "snapshots", "20260101-000000-000")));

        var taken = await Assert.ThrowsAsync<RedisServerException>(() => Db.ExecuteAsync("SAVE", "20260101-000000-000"));
        Assert.Contains("already holds", taken.Message);
        var bad = await Assert.ThrowsAsync<RedisServerException>(() => Db.ExecuteAsync("SAVE", "../escape"));
        Assert.Contains("not a valid snapshot name", bad.Message);
        Assert.False(Directory.Exists(Path.Combine(_directory.Path, "escape")));
        var extra = await Assert.ThrowsAsync<RedisServerException>(() => Db.ExecuteAsync("SAVE", "a", "b"));
        Assert.Contains("syntax error", extra.Message);
        var bgsave = await Assert.ThrowsAsync<RedisServerException>(() => Db.ExecuteAsync("BGSAVE"));
        Assert.Contains("use SAVE", bgsave.Message);
    }

    [Fact]
    public async Task Scrub_FlippedByteInATable_ReplyAndInfoReportTheDamagedFile()
    {
        await WriteKeysAsync("k", 300);
        _node.Host!.Database.Flush();
        var table = Assert.Single(Directory.EnumerateFiles(Path.Combine(_directory.Path, "engine"), "*.sst"));
        using (var stream = new FileStream(table, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.Position = 10; // inside the first data block
            var b = stream.ReadByte();
            stream.Position = 10;
            stream.WriteByte((byte)(b ^ 0x10));
        }

        var reply = (RedisResult[])(await Db.ExecuteAsync("SCRUB"))!;

        Assert.StartsWith("damaged tables=1 ", reply[0].ToString());
        Assert.EndsWith(" errors=1", reply[0].ToString());
        Assert.Equal(2, reply.Length);
        Assert.Contains(Path.GetFileName(table), reply[1].ToString());
        Assert.EndsWith(",errors=1", (await InfoAsync("engine"))["engine_last_scrub"]);
    }

    [Fact]
    public async Task SaveAndScrub_AdminCommandsNone_Refused()
    {
        var node = await TestServer.StartNodeAsync(_directory.Path + "-none", _time, o => o.AdminCommands = Kv.Node.Resp.AdminCommandsMode.None);
        try
        {
            await using var redis = await node.ConnectAsync();
            foreach (var command in new[] { "SAVE", "SCRUB" })
            {
                var refused = await Assert.ThrowsAsync<RedisServerException>(() => redis.GetDatabase().ExecuteAsync(command));
                Assert.StartsWith("NOPERM", refused.Message);
            }
            Assert.False(Directory.Exists(Path.Combine(_directory.Path + "-none", "snapshots")));
        }
        finally
        {
            await node.DisposeAsync();
            Directory.Delete(_directory.Path + "-none", recursive: true);
        }
    }
}
