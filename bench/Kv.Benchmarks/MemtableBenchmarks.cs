using BenchmarkDotNet.Attributes;
using Kv.Engine.Format;
using Kv.Engine.Memtable;

namespace Kv.Benchmarks;

/// <summary>
/// Memtable insert and point lookup with db_bench-shaped entries (16-byte keys, 100-byte values): decimal keys as
/// db_bench makes them (long shared prefixes), or node-shaped keys that start with a random 8-byte token; with the
/// point-lookup index (<see cref="MemtableHashIndex"/>) or with the skiplist alone; with the skiplist cut into the
/// 65536 prefix partitions a 64 MiB memtable gets, or as one list.
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*MemtableBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class MemtableBenchmarks
{
    private const int Entries = 300_000;
    private byte[][] _keys = [];
    private byte[] _entryValue = [];
    private SkipListMemtable _filled = null!;
    private int _next;

    [Params("decimal", "token")]
    public string KeyShape { get; set; } = "decimal";

    /// <summary>Gets through the point-lookup index (a 64 MiB memtable's), or through the skiplist alone.</summary>
    [Params(true, false)]
    public bool HashIndex { get; set; } = true;

    /// <summary>The skiplist in 65536 partitions by key prefix (what a 64 MiB memtable picks), or one list.</summary>
    [Params(true, false)]
    public bool Partitioned { get; set; } = true;

    private long ExpectedBytes => HashIndex ? 64L << 20 : 1;

    private int Partitions => Partitioned ? SkipListMemtable.MaxPartitions : 1;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(301);
        _keys = new byte[Entries][];
        for (var i = 0; i < Entries; i++)
        {
            _keys[i] = System.Text.Encoding.ASCII.GetBytes(rng.Next(Entries * 10).ToString("D16"));
            if (KeyShape == "token") rng.NextBytes(_keys[i].AsSpan(0, 8));
        }
        var value = new byte[100];
        rng.NextBytes(value);
        _entryValue = new byte[EntryValue.EncodedLength(0, value.Length)];
        EntryValue.Write(_entryValue, 0, value);
        _filled = new SkipListMemtable(expectedBytes: ExpectedBytes, partitions: Partitions);
        for (var i = 0; i < Entries; i++) _filled.Add(_keys[i], i, EntryKind.Value, _entryValue, i);
    }

    /// <summary>Builds a 300k-entry memtable. The bytes reported as allocated are the arena's chunks (about the
    /// entry size per insert, in 4 MiB arrays), not objects per entry.</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public long Insert()
    {
        var target = new SkipListMemtable(expectedBytes: ExpectedBytes, partitions: Partitions);
        for (var i = 0; i < Entries; i++) target.Add(_keys[i], i, EntryKind.Value, _entryValue, i);
        return target.EntryCount;
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public long Get()
    {
        long sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            var k = _keys[(int)((uint)(_next++ * 7919) % Entries)];
            if (_filled.TryGetNewest(k, out var ts, out _, out _)) sum += ts;
        }
        return sum;
    }

    /// <summary>A full scan, as a flush does: with partitions it also steps over the empty ones.</summary>
    [Benchmark(OperationsPerInvoke = Entries)]
    public long Scan()
    {
        long sum = 0;
        using var it = _filled.NewIterator();
        for (it.SeekToFirst(); it.Valid; it.Next()) sum += it.Key.Length;
        return sum;
    }
}
