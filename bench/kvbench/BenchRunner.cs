using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Kv.Engine;
using Kv.Engine.Wal;

namespace Kv.Bench;

/// <summary>Runs db_bench workloads against the engine and prints one db_bench-style line each.</summary>
internal sealed class BenchRunner : IDisposable
{
    private readonly BenchOptions _options;
    private readonly TextWriter _out;
    private Database? _db;
    private long _timestamp;

    public BenchRunner(BenchOptions options, TextWriter output)
    {
        _options = options;
        _out = output;
    }

    public int Run()
    {
        if (!_options.UseExistingDb) DestroyDb();
        foreach (var raw in _options.Benchmarks.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (raw)
            {
                case "fillseq": Fresh(); Measure(raw, (t, s) => Write(t, s, sequential: true, delete: false)); break;
                case "fillrandom": Fresh(); Measure(raw, (t, s) => Write(t, s, sequential: false, delete: false)); break;
                case "overwrite": Measure(raw, (t, s) => Write(t, s, sequential: false, delete: false)); break;
                case "deleterandom": Measure(raw, (t, s) => Write(t, s, sequential: false, delete: true)); break;
                case "readrandom": Measure(raw, ReadRandom); break;
                case "readseq": Measure(raw, ReadSeq); break;
                case "seekrandom": Measure(raw, SeekRandom); break;
                default:
                    Console.Error.WriteLine($"kvbench: unknown benchmark '{raw}' (known: fillseq, fillrandom, overwrite, readrandom, readseq, seekrandom, deleterandom)");
                    return 2;
            }
        }
        return 0;
    }

    private Database Db => _db ??= Database.Open(_options.Db, NewEngineOptions());

    private EngineOptions NewEngineOptions() => _options.ApplyCompactionFlags(new()
    {
        SyncMode = _options.Sync ? WalSyncMode.PerWrite : WalSyncMode.Periodic,
        MemtableSizeBytes = _options.MemtableSizeBytes,
        MemtableHugePages = _options.HugePages,
    });

    private void Fresh()
    {
        if (_options.UseExistingDb) return;
        DestroyDb();
    }

    private void DestroyDb()
    {
        _db?.Dispose();
        _db = null;
        if (Directory.Exists(_options.Db)) Directory.Delete(_options.Db, recursive: true);
    }

    private void Measure(string name, Func<int, ThreadStats, long> body)
    {
        var db = Db; // open outside the timed region
        _ = db;
        var threads = _options.Threads;
        var stats = new ThreadStats[threads];
        for (var i = 0; i < threads; i++) stats[i] = new ThreadStats();
        var workers = new Thread[threads];
        using var start = new ManualResetEventSlim(false);
        for (var i = 0; i < threads; i++)
        {
            var index = i;
            workers[i] = new Thread(() =>
            {
                start.Wait();
                var s = stats[index];
                s.Watch.Start();
                body(index, s);
                s.Watch.Stop();
            })
            { IsBackground = true, Name = $"kvbench-{index}" };
            workers[i].Start();
        }
        var wall = Stopwatch.StartNew();
        start.Set();
        foreach (var w in workers) w.Join();
        wall.Stop();

        long done = 0, bytes = 0, found = 0;
        double threadSeconds = 0;
        foreach (var s in stats)
        {
            done += s.Ops;
            bytes += s.Bytes;
            found += s.Found;
            threadSeconds += s.Watch.Elapsed.TotalSeconds;
        }
        if (done < 1) done = 1;
        var elapsed = wall.Elapsed.TotalSeconds;
        var micros = threadSeconds * 1e6 / done;
        var opsPerSec = (long)(done / elapsed);
        var extra = stats[0].ReportsFound ? string.Create(CultureInfo.InvariantCulture, $" ({found} of {done} found)") : "";
        var mb = bytes > 0 ? string.Create(CultureInfo.InvariantCulture, $" {bytes / 1048576.0 / elapsed,6:F1} MB/s") : "";
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-12} : {micros,11:F3} micros/op {opsPerSec} ops/sec {elapsed:F3} seconds {done} operations;{mb}{extra}"));
        _out.Flush();
        if (_options.ShowStats)
        {
            var st = db.GetStats();
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  stats: group commits {st.GroupCommits}, writes per group {(st.GroupCommits > 0 ? (double)st.GroupedWrites / st.GroupCommits : 0):F1}, flushes {st.FlushCount}, L0 files {(st.FilesPerLevel.Count > 0 ? st.FilesPerLevel[0] : 0)}, write stalls {st.WriteStalls}, block cache hit rate {st.BlockCacheHitRate:P0}"));
        }
    }

    private long Write(int thread, ThreadStats stats, bool sequential, bool delete)
    {
        var db = Db;
        var num = _options.Num;
        var rng = new FastRandom(_options.Seed + (ulong)thread * 7919UL + (ulong)Environment.TickCount64);
        var values = new ValueGenerator(_options.Seed + (ulong)thread, _options.CompressionRatio);
        Span<byte> key = stackalloc byte[_options.KeySize];
        var valueSize = _options.ValueSize;
        for (long i = 0; i < num; i++)
        {
            var k = sequential ? i : (long)rng.Uniform((ulong)num);
            KeyFormatter.Format(k, key);
            var ts = Interlocked.Increment(ref _timestamp);
            if (delete)
            {
                db.Delete(key, ts);
                stats.Bytes += key.Length;
            }
            else
            {
                db.Put(key, values.Generate(valueSize), ts);
                stats.Bytes += key.Length + valueSize;
            }
            stats.Ops++;
        }
        return stats.Ops;
    }

    private long ReadRandom(int thread, ThreadStats stats)
    {
        var db = Db;
        var num = _options.Num;
        var rng = new FastRandom(_options.Seed * 31 + (ulong)thread + (ulong)Environment.TickCount64);
        Span<byte> key = stackalloc byte[_options.KeySize];
        var buffer = new ArrayBufferWriter<byte>(Math.Max(16, _options.ValueSize));
        stats.ReportsFound = true;
        var reads = _options.ReadsPerThread;
        for (long i = 0; i < reads; i++)
        {
            KeyFormatter.Format((long)rng.Uniform((ulong)num), key);
            buffer.ResetWrittenCount();
            if (db.TryGet(key, buffer, out _, out _, out _))
            {
                stats.Found++;
                stats.Bytes += key.Length + buffer.WrittenCount;
            }
            stats.Ops++;
        }
        return stats.Ops;
    }

    private long ReadSeq(int thread, ThreadStats stats)
    {
        var reads = _options.ReadsPerThread;
        using var scanner = Db.Scan(default, default);
        while (stats.Ops < reads && scanner.MoveNext())
        {
            stats.Bytes += scanner.Key.Length + scanner.Value.Length;
            stats.Ops++;
        }
        return stats.Ops;
    }

    private long SeekRandom(int thread, ThreadStats stats)
    {
        var db = Db;
        var num = _options.Num;
        var rng = new FastRandom(_options.Seed * 17 + (ulong)thread + (ulong)Environment.TickCount64);
        Span<byte> key = stackalloc byte[_options.KeySize];
        stats.ReportsFound = true;
        var reads = _options.ReadsPerThread;
        // As db_bench: one iterator per thread, re-seeked for every operation.
        using var scanner = db.Scan(default, default);
        for (long i = 0; i < reads; i++)
        {
            KeyFormatter.Format((long)rng.Uniform((ulong)num), key);
            scanner.Seek(key);
            if (scanner.MoveNext() && scanner.Key.SequenceEqual(key)) stats.Found++;
            stats.Ops++;
        }
        return stats.Ops;
    }

    public void Dispose()
    {
        _db?.Dispose();
        _db = null;
    }

    private sealed class ThreadStats
    {
        public readonly Stopwatch Watch = new();
        public long Ops;
        public long Bytes;
        public long Found;
        public bool ReportsFound;
    }
}
