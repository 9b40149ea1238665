using System.Text;
using Kv.Engine;
using Kv.Engine.Wal;

namespace Kv.Bench;

/// <summary>
/// Hidden test mode (<c>kvbench --crash-writer --db=DIR --seed=RUN --threads=N</c>) for the SIGKILL crash
/// tests: N threads write keys <c>r{RUN}-t{thread}-{i}</c> with per-write sync and print each key on its
/// own stdout line, terminated by ';', only after Put returned (the write is acknowledged). The test kills the process at a
/// random moment, reopens the store and checks that every printed key reads back its expected value.
/// Runs until killed (or until --num writes per thread). The compaction flags (--target_file_size_base,
/// --max_bytes_for_level_base, --level0_file_num_compaction_trigger) let a test keep compactions running.
/// </summary>
internal static class CrashWriter
{
    public static int Run(BenchOptions options, TextWriter output)
    {
        using var db = Database.Open(options.Db, options.ApplyCompactionFlags(new EngineOptions
        {
            SyncMode = WalSyncMode.PerWrite,
            MemtableSizeBytes = options.MemtableSizeBytes,
        }));
        var gate = new object();
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        stdout.WriteLine("ready;");
        var threads = new Thread[options.Threads];
        for (var t = 0; t < threads.Length; t++)
        {
            var thread = t;
            threads[t] = new Thread(() =>
            {
                for (long i = 0; i < options.Num; i++)
                {
                    var key = $"r{options.Seed}-t{thread}-{i}";
                    var keyBytes = Encoding.UTF8.GetBytes(key);
                    db.Put(keyBytes, ExpectedValue(keyBytes), DateTime.UtcNow.Ticks);
                    lock (gate) stdout.WriteLine(key + ";");
                }
            });
            threads[t].Start();
        }
        foreach (var t in threads) t.Join();
        _ = output;
        return 0;
    }

    /// <summary>The value written for a key: the key repeated to 3 times its length plus a marker.</summary>
    public static byte[] ExpectedValue(ReadOnlySpan<byte> key)
    {
        var value = new byte[(key.Length * 3) + 1];
        for (var i = 0; i < 3; i++) key.CopyTo(value.AsSpan(i * key.Length));
        value[^1] = (byte)'!';
        return value;
    }
}
