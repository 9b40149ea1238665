using BenchmarkDotNet.Attributes;
using Kv.Engine;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Memtable;
using Kv.Engine.Sstable;

namespace Kv.Benchmarks;

/// <summary>
/// A memtable flush's CPU per entry: a filled 64 MiB-class memtable (400k node-shaped entries, as redis-benchmark's
/// SETs leave one: an 8-byte token and <c>key:NNNNNNNNNNNN</c>, 100-byte values, inserted in random order) written to
/// a table in memory the way a flush writes it (<c>Database.WriteWinners</c>: key order, LZ4 blocks, Bloom filter).
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*FlushBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class FlushBenchmarks
{
    private const int Entries = 400_000;
    private SkipListMemtable _filled = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(907);
        var value = new byte[100];
        Array.Fill(value, (byte)'x'); // redis-benchmark's values: LZ4 has something to do, as in the benchmark
        var entryValue = new byte[EntryValue.EncodedLength(0, value.Length)];
        EntryValue.Write(entryValue, 0, value);
        _filled = new SkipListMemtable(expectedBytes: 64L << 20);
        var key = new byte[24];
        for (var i = 0; i < Entries; i++)
        {
            rng.NextBytes(key.AsSpan(0, 8));
            System.Text.Encoding.ASCII.GetBytes($"key:{rng.Next(1_000_000):D12}", key.AsSpan(8));
            _filled.Add(key, i + 1, EntryKind.Value, entryValue, i + 1);
        }
    }

    [Benchmark(OperationsPerInvoke = Entries)]
    public long Flush()
    {
        var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/db");
        var file = fs.CreateWritable("/db/t.sst");
        using var builder = new TableBuilder(file, new TableOptions());
        using var iterator = _filled.NewIterator();
        Database.WriteWinners(iterator, builder);
        var properties = builder.Finish();
        file.Dispose();
        return properties.EntryCount;
    }
}
