using BenchmarkDotNet.Attributes;
using Kv.Engine.IO;
using Kv.Engine.Wal;

namespace Kv.Benchmarks;

/// <summary>
/// WAL append of 100-byte records on the local disk, one appender:
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*WalBenchmarks*' --job short</c>.
/// <see cref="WalSyncMode.Periodic"/> with an hour-long interval is "sync off" (only framing and buffering, plus a
/// write per record for buffered files); <see cref="WalSyncMode.PerWrite"/> pays one fdatasync per record (one
/// appender: nothing to group). The directory is <c>KV_BENCH_DIR</c> or the system temp folder.
/// Group commit under many threads is measured by <c>KV_WAL_MEASURE=1 dotnet test tests/Kv.Engine.Tests
/// --filter WalGroupCommitMeasurement</c>.
/// </summary>
[MemoryDiagnoser]
public class WalBenchmarks
{
    private const int Records = 2000;

    private readonly byte[] _record = new byte[100];
    private string _dir = "";
    private WalWriter _wal = null!;
    private int _file;

    [Params(WalSyncMode.Periodic, WalSyncMode.PerWrite)]
    public WalSyncMode Sync { get; set; }

    [Params(true, false)]
    public bool DirectIO { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        new Random(7).NextBytes(_record);
        _dir = Path.Combine(Environment.GetEnvironmentVariable("KV_BENCH_DIR") ?? Path.GetTempPath(), "kv-walbench-" + Environment.ProcessId);
        Directory.CreateDirectory(_dir);
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _wal = WalWriter.Create(LocalFileSystem.Instance, Path.Combine(_dir, $"{++_file:D6}.log"), new WalOptions
        {
            SyncMode = Sync,
            PeriodicSyncInterval = TimeSpan.FromHours(1),
            UseDirectIO = DirectIO,
        });
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public void Append100B()
    {
        for (var i = 0; i < Records; i++) _wal.Append(_record);
    }

    [IterationCleanup]
    public void IterationCleanup()
    {
        var path = _wal.Path;
        _wal.Dispose();
        File.Delete(path);
    }

    [GlobalCleanup]
    public void GlobalCleanup() => Directory.Delete(_dir, recursive: true);
}
