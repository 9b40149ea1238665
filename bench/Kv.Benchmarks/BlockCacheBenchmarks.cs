using BenchmarkDotNet.Attributes;
using Kv.Engine.Cache;

namespace Kv.Benchmarks;

/// <summary>
/// Block cache hits at the size a node runs with (256 MiB of 4 KiB blocks, 16 shards), keys in random order so
/// the cache's own bookkeeping misses the CPU caches as it does under a real point-read load:
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*BlockCacheBenchmarks*' --job short</c>.
/// The reported time is per lookup.
/// </summary>
public class BlockCacheBenchmarks
{
    private const int Blocks = 60_000;
    private const int Lookups = 4096;
    private BlockCache _cache = null!;
    private long[] _offsets = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _cache = new BlockCache(256L << 20);
        for (var i = 0; i < Blocks; i++) _cache.Insert(7, i * 4096L, new byte[4096]);
        var random = new Random(42);
        _offsets = new long[1 << 20];
        for (var i = 0; i < _offsets.Length; i++) _offsets[i] = random.Next(Blocks) * 4096L;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Hit()
    {
        var found = 0;
        var offsets = _offsets;
        var at = _next;
        for (var i = 0; i < Lookups; i++)
        {
            if (_cache.TryGet(7, offsets[at], out var block)) found += block.Length;
            at = (at + 1) & (offsets.Length - 1);
        }
        _next = at;
        return found;
    }
}
