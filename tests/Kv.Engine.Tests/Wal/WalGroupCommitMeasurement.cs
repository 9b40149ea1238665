using System.Diagnostics;
using Kv.Engine.IO;
using Kv.Engine.Tests.IO;
using Kv.Engine.Wal;
using Xunit.Abstractions;

namespace Kv.Engine.Tests.Wal;

/// <summary>
/// A measurement, not a test: N threads append 100-byte records with per-write sync to a WAL on the real disk and
/// the records/s and fdatasyncs/s are printed. Runs only with KV_WAL_MEASURE=1 (otherwise returns at once):
/// <c>KV_WAL_MEASURE=1 dotnet test tests/Kv.Engine.Tests -c Release --filter WalGroupCommitMeasurement --logger "console;verbosity=detailed"</c>.
/// The directory is KV_BENCH_DIR or a folder under the repository's artifacts (the disk the database would use);
/// KV_WAL_MEASURE_MODES=direct or =buffered measures one mode only.
/// </summary>
public class WalGroupCommitMeasurement(ITestOutputHelper output)
{
    [Fact]
    public void Measure_ThreadsAppendingWithPerWriteSync_PrintsRecordsAndSyncsPerSecond()
    {
        if (Environment.GetEnvironmentVariable("KV_WAL_MEASURE") != "1") return;
        var parent = Environment.GetEnvironmentVariable("KV_BENCH_DIR") ?? Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts"));
        Directory.CreateDirectory(parent);
        using var dir = new TestDirectory(parent);
        foreach (var direct in (Environment.GetEnvironmentVariable("KV_WAL_MEASURE_MODES") ?? "direct,buffered").Split(",").Select(m => m == "direct"))
        {
            foreach (var threads in new[] { 1, 4, 16, 64 })
            {
                var path = dir.File($"{threads}-{direct}.log");
                var record = new byte[100];
                long records = 0;
                var stop = 0;
                var duration = TimeSpan.FromSeconds(2);
                WalWriter wal;
                var clock = Stopwatch.StartNew();
                using (wal = WalWriter.Create(LocalFileSystem.Instance, path, new WalOptions { UseDirectIO = direct }))
                {
                    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
                    {
                        long mine = 0;
                        while (Volatile.Read(ref stop) == 0)
                        {
                            wal.Append(record);
                            mine++;
                        }
                        Interlocked.Add(ref records, mine);
                    })).ToList();
                    workers.ForEach(t => t.Start());
                    Thread.Sleep(duration);
                    Volatile.Write(ref stop, 1);
                    workers.ForEach(t => t.Join());
                    clock.Stop();
                    var seconds = clock.Elapsed.TotalSeconds;
                    output.WriteLine($"{(wal.IsDirectIO ? "O_DIRECT" : "buffered"),-8} threads={threads,3}: {records / seconds,9:F0} records/s, " +
                                     $"{wal.SyncCount / seconds,7:F0} fdatasync/s, {records / (double)Math.Max(1, wal.SyncCount),6:F1} records/sync");
                }
                var replayed = 0;
                WalReader.Replay(LocalFileSystem.Instance, path, (_, _) => replayed++, null);
                Assert.Equal(records, replayed);
            }
        }
    }
}
