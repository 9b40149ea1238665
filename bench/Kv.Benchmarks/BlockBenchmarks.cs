using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Kv.Engine;
using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Sstable;

namespace Kv.Benchmarks;

/// <summary>
/// Block encoding and table reads with db_bench-shaped data (16-byte keys, 100-byte values):
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*BlockBenchmarks*' --job short</c>.
/// Lookup benchmarks run <see cref="Lookups"/> operations per invocation; the reported time is per lookup.
/// </summary>
[MemoryDiagnoser]
public class BlockBenchmarks
{
    private const int TableEntries = 100_000;
    private const int Lookups = 1000;

    private byte[][] _blockKeys = [];
    private byte[] _value = [];
    private readonly BlockBuilder _builder = new(16);
    private byte[] _block = [];
    private readonly BlockIterator _blockIterator = new();
    private string _dir = "";
    private TableReader _table = null!;
    private TableReader _uncachedTable = null!;
    private byte[][] _userKeys = [];
    private byte[][] _absentKeys = [];
    private int[] _order = [];
    private readonly ArrayBufferWriter<byte> _valueBuffer = new(256);

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(301);
        _value = new byte[100];
        random.NextBytes(_value.AsSpan(0, 50)); // half random, half repeated: compressible like db_bench's values

        _blockKeys = new byte[36][];
        for (var i = 0; i < _blockKeys.Length; i++) _blockKeys[i] = InternalKeyOf(UserKey(i * 1000L), 1);
        _block = BuildBlock().ToArray();
        _blockIterator.Reset(_block, _block.Length, "bench", 0);

        _dir = Path.Combine(Path.GetTempPath(), "kv-blockbench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "000001.sst");
        using (var file = LocalFileSystem.Instance.CreateWritable(path))
        using (var builder = new TableBuilder(file, new TableOptions()))
        {
            for (var i = 0; i < TableEntries; i++) builder.Add(InternalKeyOf(UserKey(i), 1), _value);
            builder.Finish();
            file.Sync();
        }
        _table = TableReader.Open(LocalFileSystem.Instance.OpenRandomAccess(path), 1, new BlockCache(256L << 20));
        _uncachedTable = TableReader.Open(LocalFileSystem.Instance.OpenRandomAccess(path), 2);

        _userKeys = new byte[TableEntries][];
        _absentKeys = new byte[Lookups][];
        for (var i = 0; i < TableEntries; i++) _userKeys[i] = UserKey(i);
        for (var i = 0; i < Lookups; i++) _absentKeys[i] = UserKey(TableEntries + random.Next());
        _order = new int[Lookups];
        for (var i = 0; i < Lookups; i++) _order[i] = random.Next(TableEntries);

        using var warm = _table.NewIterator();
        for (warm.SeekToFirst(); warm.Valid; warm.Next()) { }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _table.Dispose();
        _uncachedTable.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "block build (4 KiB, 36 entries)")]
    public int BlockBuild() => BuildBlock().Length;

    [Benchmark(Description = "block seek", OperationsPerInvoke = Lookups)]
    public int BlockSeek()
    {
        var found = 0;
        for (var i = 0; i < Lookups; i++)
        {
            _blockIterator.Seek(_blockKeys[_order[i] % _blockKeys.Length]);
            if (_blockIterator.Valid) found++;
        }
        return found;
    }

    [Benchmark(Description = "table point lookup, cached", OperationsPerInvoke = Lookups)]
    public int TableGetCached() => Get(_table, _userKeys);

    [Benchmark(Description = "table point lookup, uncached (OS page cache)", OperationsPerInvoke = Lookups)]
    public int TableGetUncached() => Get(_uncachedTable, _userKeys);

    [Benchmark(Description = "table point lookup, absent key", OperationsPerInvoke = Lookups)]
    public int TableGetAbsent()
    {
        var found = 0;
        for (var i = 0; i < Lookups; i++)
        {
            _valueBuffer.ResetWrittenCount();
            if (_table.TryGetNewest(_absentKeys[i], out _, out _, _valueBuffer)) found++;
        }
        return found;
    }

    [Benchmark(Description = "table scan, cached (per entry)", OperationsPerInvoke = TableEntries)]
    public long TableScan()
    {
        long bytes = 0;
        using var it = _table.NewIterator();
        for (it.SeekToFirst(); it.Valid; it.Next()) bytes += it.Value.Length;
        return bytes;
    }

    [Benchmark(Description = "table index search (in-memory index)", OperationsPerInvoke = Lookups)]
    public int IndexSearch()
    {
        var s = 0;
        Span<byte> seek = stackalloc byte[64];
        for (var i = 0; i < Lookups; i++)
        {
            var k = _userKeys[_order[i]];
            var n = InternalKey.WriteSeekKey(seek, k);
            s += _table.FindBlock(seek[..n]);
        }
        return s;
    }

    [Benchmark(Description = "block cache hit (LoadBlock)", OperationsPerInvoke = Lookups)]
    public int BlockCacheHit()
    {
        var s = 0;
        for (var i = 0; i < Lookups; i++)
        {
            byte[]? b = null;
            s += _table.LoadBlock(_order[i] % _table.BlockCount, true, ref b, out var len).Length;
        }
        return s;
    }

    private int Get(TableReader table, byte[][] keys)
    {
        var found = 0;
        for (var i = 0; i < Lookups; i++)
        {
            _valueBuffer.ResetWrittenCount();
            if (table.TryGetNewest(keys[_order[i]], out _, out _, _valueBuffer)) found++;
        }
        return found;
    }

    private ReadOnlySpan<byte> BuildBlock()
    {
        _builder.Reset();
        foreach (var key in _blockKeys) _builder.Add(key, _value);
        return _builder.Finish();
    }

    private static byte[] UserKey(long i) => Encoding.ASCII.GetBytes(i.ToString("D16"));

    private static byte[] InternalKeyOf(byte[] userKey, long ts)
    {
        var key = new byte[InternalKey.EncodedLength(userKey.Length)];
        InternalKey.Write(key, userKey, ts, EntryKind.Value);
        return key;
    }
}
