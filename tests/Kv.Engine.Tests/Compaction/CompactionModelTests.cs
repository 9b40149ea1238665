using System.Text;
using CsCheck;
using Kv.Engine.Compaction;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Tests.Db;

namespace Kv.Engine.Tests.Compaction;

/// <summary>
/// The engine model test with compaction in the loop: tiny memtables, tables and levels so that every sequence goes
/// through many flushes and compactions (background and explicit), under both strategies, with a clock that moves
/// past the tombstone grace period so tombstones really get purged and expired values converted.
/// Writes carry hybrid timestamps from the last 50 minutes (grace is one hour), so no write is older than a purged
/// tombstone. A purge is allowed to change what a read reports in exactly two ways: a tombstone past grace may read
/// as absent, and a value expired for longer than grace may read as deleted at its timestamp; a live value must
/// always read exactly, and scans of live data must match exactly.
/// </summary>
public class CompactionModelTests
{
    public abstract record Op;
    public sealed record PutOp(int Key, string Value, int AgeTenMinutes, int? ExpiresInMinutes) : Op;
    public sealed record DeleteOp(int Key, int AgeTenMinutes) : Op;
    public sealed record GetOp(int Key) : Op;
    public sealed record ScanOp(int Start, int End) : Op;
    public sealed record FlushOp : Op;
    public sealed record ReopenOp : Op;
    public sealed record CompactOp : Op;
    public sealed record AdvanceClockOp(int Minutes) : Op;

    private const int KeySpace = 12;
    private static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    private static readonly Gen<Op> GenOp = Gen.Frequency(
        (6, Gen.Select(Gen.Int[0, KeySpace - 1], Gen.Int[0, 5].Select(i => new[] { "", "a", "b", "zz", "value-1", "value-2" }[i]), Gen.Int[0, 5],
            Gen.Frequency((3, Gen.Const((int?)null)), (1, Gen.Int[-5, 60].Select(m => (int?)m))), (k, v, a, e) => (Op)new PutOp(k, v, a, e))),
        (2, Gen.Select(Gen.Int[0, KeySpace - 1], Gen.Int[0, 5], (k, a) => (Op)new DeleteOp(k, a))),
        (4, Gen.Int[0, KeySpace - 1].Select(k => (Op)new GetOp(k))),
        (1, Gen.Select(Gen.Int[0, KeySpace], Gen.Int[0, KeySpace], (a, b) => (Op)new ScanOp(a, b))),
        (2, Gen.Const((Op)new FlushOp())),
        (1, Gen.Const((Op)new ReopenOp())),
        (2, Gen.Const((Op)new CompactOp())),
        (2, Gen.Int[0, 40].Select(m => (Op)new AdvanceClockOp(m))));

    [Theory]
    [InlineData(CompactionStyle.Leveled, 0)]
    [InlineData(CompactionStyle.SizeTiered, 0)]
    [InlineData(CompactionStyle.Leveled, 2)] // through a table cache smaller than the tree
    public void RandomOperations_WithCompaction_ReadsAgreeWithModel(CompactionStyle style, int maxOpenTables)
    {
        var iterations = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? 3000 : 150;
        GenOp.Array[1, 120].Sample(ops => Run(ops, style, maxOpenTables), iter: iterations, threads: 1);
    }

    private sealed record Winner(long Ts, EntryKind Kind, byte[] Value, long Expires);

    private static void Run(Op[] ops, CompactionStyle style, int maxOpenTables)
    {
        var fs = new InMemoryFileSystem();
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new EngineOptions
        {
            FileSystem = fs,
            MemtableSizeBytes = 1024,
            BlockSize = 256,
            BlockCacheBytes = 64 * 1024,
            TimeProvider = clock,
            CompactionStyle = style,
            Level0CompactionTrigger = 2,
            LevelBaseBytes = 1024,
            TargetFileSizeBytes = 1024,
            SizeTieredMinThreshold = 2,
            TombstoneGracePeriod = Grace,
            MaxOpenTables = maxOpenTables,
        };
        var model = new StoreModel();
        var winners = new Dictionary<int, Winner>();
        var db = Database.Open("/db", options);
        try
        {
            foreach (var op in ops)
            {
                var nowMs = clock.GetUtcNow().ToUnixTimeMilliseconds();
                switch (op)
                {
                    case PutOp p:
                        {
                            var ts = (nowMs - (p.AgeTenMinutes * 600_000L)) << 16;
                            var expires = p.ExpiresInMinutes is { } m ? nowMs + (m * 60_000L) : 0;
                            var value = Encoding.UTF8.GetBytes(p.Value);
                            db.Put(ModelTests.KeyOf(p.Key), value, ts, expires);
                            model.Apply(ModelTests.KeyOf(p.Key), ts, EntryKind.Value, value, expires);
                            Track(winners, p.Key, new Winner(ts, EntryKind.Value, value, expires));
                            break;
                        }
                    case DeleteOp d:
                        {
                            var ts = (nowMs - (d.AgeTenMinutes * 600_000L)) << 16;
                            db.Delete(ModelTests.KeyOf(d.Key), ts);
                            model.Apply(ModelTests.KeyOf(d.Key), ts, EntryKind.Tombstone, [], 0);
                            Track(winners, d.Key, new Winner(ts, EntryKind.Tombstone, [], 0));
                            break;
                        }
                    case GetOp g:
                        CheckGet(db, winners, g.Key, nowMs);
                        break;
                    case ScanOp s:
                        CheckScan(db, model, s.Start, s.End, nowMs);
                        break;
                    case FlushOp:
                        db.Flush();
                        break;
                    case CompactOp:
                        db.CompactOnce();
                        break;
                    case ReopenOp:
                        db.Dispose();
                        db = Database.Open("/db", options);
                        break;
                    case AdvanceClockOp a:
                        clock.Advance(TimeSpan.FromMinutes(a.Minutes));
                        break;
                }
            }
            db.Flush();
            db.CompactUntilIdle();
            db.Dispose();
            db = Database.Open("/db", options);
            var end = clock.GetUtcNow().ToUnixTimeMilliseconds();
            for (var k = 0; k < KeySpace; k++) CheckGet(db, winners, k, end);
            CheckScan(db, model, 0, 0, end);
        }
        finally
        {
            db.Dispose();
        }
    }

    private static void Track(Dictionary<int, Winner> winners, int key, Winner candidate)
    {
        if (!winners.TryGetValue(key, out var current) ||
            InternalKey.Supersedes(candidate.Ts, candidate.Kind, Encode(candidate), current.Ts, current.Kind, Encode(current)))
            winners[key] = candidate;
    }

    private static byte[] Encode(Winner w)
    {
        if (w.Kind == EntryKind.Tombstone) return [];
        var buffer = new byte[EntryValue.EncodedLength(w.Expires, w.Value.Length)];
        EntryValue.Write(buffer, w.Expires, w.Value);
        return buffer;
    }

    private static void CheckGet(Database db, Dictionary<int, Winner> winners, int key, long nowMs)
    {
        var actual = db.Get(ModelTests.KeyOf(key));
        var graceCutoff = nowMs - (long)Grace.TotalMilliseconds;
        if (!winners.TryGetValue(key, out var w))
        {
            Assert.Equal(ReadStatus.Absent, actual.Status);
            return;
        }
        if (w.Kind == EntryKind.Tombstone)
        {
            var purgeable = (w.Ts >> 16) < graceCutoff;
            Assert.True(actual.Status == ReadStatus.Deleted || (purgeable && actual.Status == ReadStatus.Absent),
                $"key {key}: tombstone at {w.Ts} read as {actual.Status}");
            if (actual.Status == ReadStatus.Deleted) Assert.Equal(w.Ts, actual.Timestamp);
            return;
        }
        if (EntryValue.IsExpired(w.Expires, nowMs))
        {
            var convertible = w.Expires < graceCutoff;
            Assert.True(actual.Status == ReadStatus.Absent || (convertible && actual.Status == ReadStatus.Deleted && actual.Timestamp == w.Ts),
                $"key {key}: value expired at {w.Expires} read as {actual.Status}");
            return;
        }
        Assert.Equal(ReadStatus.Found, actual.Status);
        Assert.Equal(w.Ts, actual.Timestamp);
        Assert.Equal(w.Value, actual.Value);
        Assert.Equal(w.Expires, actual.ExpiresAtUnixMs);
    }

    private static void CheckScan(Database db, StoreModel model, int startKey, int endKey, long nowMs)
    {
        var start = startKey == 0 ? [] : ModelTests.KeyOf(startKey);
        var end = endKey == 0 ? [] : ModelTests.KeyOf(endKey);
        var expected = model.Scan(start, end, includeTombstones: false, nowMs);
        var actual = new List<string>();
        using (var scanner = db.Scan(start, end))
        {
            while (scanner.MoveNext())
                actual.Add($"{Convert.ToHexString(scanner.Key)}@{scanner.Timestamp}:{Encoding.UTF8.GetString(scanner.Value)}/{scanner.ExpiresAtUnixMs}");
        }
        Assert.Equal(expected, actual);
    }
}
