using System.Diagnostics;
using System.Text;
using Kv.Engine.Manifest;

namespace Kv.Engine.Tests.Crash;

/// <summary>
/// Crash test (b): a child process (kvbench's hidden --crash-writer mode) writes with per-write sync and prints
/// every key whose Put returned (terminated by ';', so a line cut by the kill is ignored); it is SIGKILLed at a random moment, the store is reopened and every printed
/// (acknowledged) key must read back its exact value. Repeated on the same directory, so recovery also runs
/// over the leftovers of earlier kills. KV_SOAK=1 runs many more iterations.
/// </summary>
public class ProcessKillTests
{
    [Fact]
    public void Put_ChildKilledAtRandomMoments_EveryAcknowledgedWriteSurvives()
    {
        var soak = Environment.GetEnvironmentVariable("KV_SOAK") == "1";
        var iterations = soak ? 60 : 5;
        var dir = Path.Combine(Path.GetTempPath(), "kvdb-kill-" + Guid.NewGuid().ToString("N"));
        var rng = new Random(Environment.TickCount);
        var acked = new List<string>();
        try
        {
            for (var run = 0; run < iterations; run++)
            {
                var killAfter = TimeSpan.FromMilliseconds(rng.Next(300, soak ? 3000 : 1500));
                acked.AddRange(RunAndKill(dir, run, killAfter));
                using var db = Database.Open(dir, new EngineOptions { MemtableSizeBytes = 256 * 1024, BlockCacheBytes = 1 << 20 });
                foreach (var key in acked)
                {
                    var k = Encoding.UTF8.GetBytes(key);
                    var r = db.Get(k);
                    Assert.True(r.Status == ReadStatus.Found, $"run {run}: acknowledged key {key} is {r.Status} after SIGKILL and restart");
                    Assert.Equal(ExpectedValue(k), r.Value);
                }
            }
            Assert.NotEmpty(acked);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// As above, with tiny memtables, tables and levels in the child so that flushes and compactions run all the
    /// time and most kills land inside one. After each kill the store reopens (open deletes what a crash left
    /// behind), every acknowledged write reads back, and the directory holds exactly the tables the manifest lists,
    /// one manifest, one WAL, no temp file. KV_SOAK=1 runs many more, longer iterations.
    /// </summary>
    [Fact]
    public void Put_ChildKilledDuringContinuousCompaction_EveryAcknowledgedWriteSurvivesAndNoOrphanFiles()
    {
        var soak = Environment.GetEnvironmentVariable("KV_SOAK") == "1";
        var iterations = soak ? 40 : 4;
        var dir = Path.Combine(Path.GetTempPath(), "kvdb-kill-compact-" + Guid.NewGuid().ToString("N"));
        var rng = new Random(Environment.TickCount);
        var acked = new List<string>();
        long compactions = 0;
        try
        {
            for (var run = 0; run < iterations; run++)
            {
                var killAfter = TimeSpan.FromMilliseconds(rng.Next(400, soak ? 4000 : 1200));
                acked.AddRange(RunAndKill(dir, run, killAfter,
                    "--write_buffer_size=8192", "--target_file_size_base=4096", "--max_bytes_for_level_base=16384",
                    "--level0_file_num_compaction_trigger=2"));
                using var db = Database.Open(dir, new EngineOptions { DisableAutoCompaction = true, BlockCacheBytes = 1 << 20 });
                var live = db.LiveTableNumbers();
                var tables = new HashSet<ulong>();
                var manifests = 0;
                var logs = 0;
                foreach (var name in Directory.EnumerateFiles(dir).Select(Path.GetFileName))
                {
                    Assert.True(FileNames.TryParse(name!, out var type, out var number), $"run {run}: unexpected file {name}");
                    Assert.NotEqual(FileType.Temp, type);
                    if (type == FileType.Table) tables.Add(number);
                    if (type == FileType.Manifest) manifests++;
                    if (type == FileType.Log) logs++;
                }
                Assert.True(live.SetEquals(tables),
                    $"run {run}: table files [{string.Join(",", tables.Order())}] but the manifest lists [{string.Join(",", live.Order())}]");
                Assert.Equal(1, manifests);
                Assert.Equal(1, logs); // the fresh WAL; every replayed one is gone
                compactions += db.GetStats().FilesPerLevel.Skip(1).Sum(); // tables below L0 exist only through compaction
                foreach (var key in acked)
                {
                    var k = Encoding.UTF8.GetBytes(key);
                    var r = db.Get(k);
                    Assert.True(r.Status == ReadStatus.Found, $"run {run}: acknowledged key {key} is {r.Status} after SIGKILL during compactions and restart");
                    Assert.Equal(ExpectedValue(k), r.Value);
                }
            }
            Assert.NotEmpty(acked);
            Assert.True(compactions > 0, "the child never compacted: no table ever reached L1+");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static List<string> RunAndKill(string dir, int run, TimeSpan killAfter, params string[] extraArgs)
    {
        var kvbench = Path.Combine(AppContext.BaseDirectory, "kvbench.dll");
        Assert.True(File.Exists(kvbench), $"kvbench.dll not found next to the tests ({kvbench})");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(kvbench);
        psi.ArgumentList.Add("--crash-writer");
        psi.ArgumentList.Add($"--db={dir}");
        psi.ArgumentList.Add($"--seed={run}");
        psi.ArgumentList.Add("--threads=4");
        if (extraArgs.Length == 0) psi.ArgumentList.Add("--write_buffer_size=65536"); // small memtables: kills land during flushes too
        foreach (var arg in extraArgs) psi.ArgumentList.Add(arg);
        var lines = new List<string>();
        var ready = new ManualResetEventSlim();
        using var child = new Process { StartInfo = psi };
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            if (e.Data == "ready;") { ready.Set(); return; }
            // a line cut by the kill has no terminator: its write may not have been acknowledged
            if (e.Data.EndsWith(';')) lock (lines) lines.Add(e.Data[..^1]);
        };
        var errors = new StringBuilder();
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        if (!ready.Wait(TimeSpan.FromSeconds(30)))
        {
            child.Kill();
            Assert.Fail($"crash writer did not start: {errors}");
        }
        Thread.Sleep(killAfter);
        Assert.False(child.HasExited, $"crash writer exited early: {errors}");
        child.Kill(); // SIGKILL
        child.WaitForExit();
        lock (lines) return [.. lines];
    }

    private static byte[] ExpectedValue(ReadOnlySpan<byte> key)
    {
        var value = new byte[(key.Length * 3) + 1];
        for (var i = 0; i < 3; i++) key.CopyTo(value.AsSpan(i * key.Length));
        value[^1] = (byte)'!';
        return value;
    }
}
