using System.Text;
using CsCheck;
using Kv.Engine.Format;
using Kv.Engine.IO;

namespace Kv.Engine.Tests.Db;

/// <summary>
/// Model-based test: random operation sequences (puts with out-of-order timestamps and expiry, deletes,
/// batches, gets, scans, flushes, reopens, clock moves) run against the engine on an in-memory file system
/// with a tiny memtable, and against <see cref="StoreModel"/>; every read must agree. CsCheck shrinks a
/// failing sequence to a minimal one.
/// </summary>
public class ModelTests
{
    public abstract record Op;
    public sealed record PutOp(int Key, string Value, long Ts, long Expires) : Op;
    public sealed record DeleteOp(int Key, long Ts) : Op;
    public sealed record BatchOp(Op[] Ops) : Op
    {
        public override string ToString() => $"BatchOp [{string.Join(", ", (IEnumerable<Op>)Ops)}]";
    }

    public sealed record GetOp(int Key) : Op;
    public sealed record ScanOp(int Start, int End, bool IncludeTombstones) : Op;
    public sealed record FlushOp : Op;
    public sealed record ReopenOp : Op;
    public sealed record AdvanceClockOp(long Ms) : Op;

    private const int KeySpace = 12;
    private const long ClockStart = 1_000_000;

    /// <summary>Key i: index 0 is the empty key; others vary in length so prefixes of each other occur.</summary>
    internal static byte[] KeyOf(int i) => i == 0 ? [] : Encoding.UTF8.GetBytes(new string((char)('a' + (i % 3)), 1 + (i / 3)));

    private static readonly Gen<long> GenTs = Gen.Long[1, 12];
    private static readonly Gen<long> GenExpires = Gen.Frequency((4, Gen.Const(0L)), (1, Gen.Long[ClockStart - 5, ClockStart + 40]));
    private static readonly Gen<string> GenValue = Gen.Int[0, 5].Select(i => new[] { "", "a", "b", "zz", "value-1", "value-2" }[i]);
    private static readonly Gen<Op> GenPut = Gen.Select(Gen.Int[0, KeySpace - 1], GenValue, GenTs, GenExpires, (k, v, t, e) => (Op)new PutOp(k, v, t, e));
    private static readonly Gen<Op> GenDelete = Gen.Select(Gen.Int[0, KeySpace - 1], GenTs, (k, t) => (Op)new DeleteOp(k, t));

    private static readonly Gen<Op> GenOp = Gen.Frequency(
        (10, GenPut),
        (4, GenDelete),
        (2, Gen.Frequency((3, GenPut), (1, GenDelete)).Array[1, 5].Select(ops => (Op)new BatchOp(ops))),
        (6, Gen.Int[0, KeySpace - 1].Select(k => (Op)new GetOp(k))),
        (2, Gen.Select(Gen.Int[0, KeySpace], Gen.Int[0, KeySpace], Gen.Bool, (a, b, t) => (Op)new ScanOp(a, b, t))),
        (1, Gen.Const((Op)new FlushOp())),
        (1, Gen.Const((Op)new ReopenOp())),
        (1, Gen.Long[1, 20].Select(ms => (Op)new AdvanceClockOp(ms))));

    [Fact]
    public void RandomOperations_AgainstSortedDictionaryModel_ReadsAgree()
    {
        GenOp.Array[1, 80].Sample(Run, iter: Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? 5000 : 250, threads: 1);
    }

    private static void Run(Op[] ops)
    {
        var fs = new InMemoryFileSystem();
        var clock = new ManualTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(ClockStart));
        var options = new EngineOptions
        {
            FileSystem = fs,
            MemtableSizeBytes = 1024,
            BlockSize = 256,
            BlockCacheBytes = 64 * 1024,
            TimeProvider = clock,
        };
        var model = new StoreModel();
        var db = Database.Open("/db", options);
        try
        {
            foreach (var op in ops)
            {
                switch (op)
                {
                    case PutOp p:
                        db.Put(KeyOf(p.Key), Encoding.UTF8.GetBytes(p.Value), p.Ts, p.Expires);
                        model.Apply(KeyOf(p.Key), p.Ts, EntryKind.Value, Encoding.UTF8.GetBytes(p.Value), p.Expires);
                        break;
                    case DeleteOp d:
                        db.Delete(KeyOf(d.Key), d.Ts);
                        model.Apply(KeyOf(d.Key), d.Ts, EntryKind.Tombstone, [], 0);
                        break;
                    case BatchOp b:
                        var batch = new WriteBatch();
                        foreach (var inner in b.Ops)
                        {
                            if (inner is PutOp bp)
                            {
                                batch.Put(KeyOf(bp.Key), Encoding.UTF8.GetBytes(bp.Value), bp.Ts, bp.Expires);
                                model.Apply(KeyOf(bp.Key), bp.Ts, EntryKind.Value, Encoding.UTF8.GetBytes(bp.Value), bp.Expires);
                            }
                            else if (inner is DeleteOp bd)
                            {
                                batch.Delete(KeyOf(bd.Key), bd.Ts);
                                model.Apply(KeyOf(bd.Key), bd.Ts, EntryKind.Tombstone, [], 0);
                            }
                        }
                        db.Write(batch);
                        break;
                    case GetOp g:
                        CheckGet(db, model, g.Key, clock);
                        break;
                    case ScanOp s:
                        CheckScan(db, model, s, clock);
                        break;
                    case FlushOp:
                        db.Flush();
                        break;
                    case ReopenOp:
                        db.Dispose();
                        db = Database.Open("/db", options);
                        break;
                    case AdvanceClockOp a:
                        clock.Advance(TimeSpan.FromMilliseconds(a.Ms));
                        break;
                }
            }
            // Finally every key must agree, after one more reopen.
            db.Dispose();
            db = Database.Open("/db", options);
            for (var k = 0; k < KeySpace; k++) CheckGet(db, model, k, clock);
            CheckScan(db, model, new ScanOp(0, 0, true), clock);
        }
        finally
        {
            db.Dispose();
        }
    }

    private static void CheckGet(Database db, StoreModel model, int key, TimeProvider clock)
    {
        var expected = model.Read(KeyOf(key), clock.GetUtcNow().ToUnixTimeMilliseconds());
        var actual = db.Get(KeyOf(key));
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Timestamp, actual.Timestamp);
        if (expected.Status == ReadStatus.Found)
        {
            Assert.Equal(expected.Value, actual.Value);
            Assert.Equal(expected.ExpiresAtUnixMs, actual.ExpiresAtUnixMs);
        }
    }

    private static void CheckScan(Database db, StoreModel model, ScanOp s, TimeProvider clock)
    {
        var start = s.Start == 0 ? [] : KeyOf(s.Start);
        var end = s.End == 0 ? [] : KeyOf(s.End);
        var expected = model.Scan(start, end, s.IncludeTombstones, clock.GetUtcNow().ToUnixTimeMilliseconds());
        var actual = new List<string>();
        using (var scanner = db.Scan(start, end, new ScanOptions { IncludeTombstones = s.IncludeTombstones }))
        {
            while (scanner.MoveNext())
                actual.Add($"{Convert.ToHexString(scanner.Key)}@{scanner.Timestamp}:{(scanner.IsTombstone ? "del" : Encoding.UTF8.GetString(scanner.Value))}/{scanner.ExpiresAtUnixMs}");
        }
        Assert.Equal(expected, actual);
    }
}
