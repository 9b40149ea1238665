using System.Buffers.Binary;
using Kv.Engine.Wal;
using static Kv.Engine.Tests.Wal.WalTestData;

namespace Kv.Engine.Tests.Wal;

/// <summary>
/// Writers append concurrently; the in-memory file system crashes at a random moment. Every record whose Append
/// returned (per-write sync) must be replayed; every replayed record must be one that was written, intact; the
/// replay must never report corruption.
/// </summary>
public class WalCrashTests
{
    private const int Writers = 4;

    [Theory]
    [InlineData(WalSyncMode.PerWrite, 1)]
    [InlineData(WalSyncMode.PerWrite, 2)]
    [InlineData(WalSyncMode.PerWrite, 3)]
    [InlineData(WalSyncMode.Periodic, 4)]
    public void Crash_DuringConcurrentAppends_AcknowledgedRecordsSurviveAndNoneIsTorn(WalSyncMode mode, int seed)
    {
        var rounds = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? 300 : 15;
        var rng = new Random(seed);
        for (var round = 0; round < rounds; round++)
        {
            var fs = NewFs();
            var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions
            {
                SyncMode = mode,
                PeriodicSyncInterval = TimeSpan.FromMilliseconds(2),
            });
            var acked = new List<(int Writer, int Index)>[Writers];
            var threads = new Thread[Writers];
            for (var t = 0; t < Writers; t++)
            {
                var writer = t;
                acked[t] = [];
                threads[t] = new Thread(() =>
                {
                    try
                    {
                        for (var i = 0; ; i++)
                        {
                            wal.Append(Record(writer, i));
                            lock (acked[writer]) acked[writer].Add((writer, i));
                        }
                    }
                    catch (IOException)
                    {
                        // the crash took the file away
                    }
                });
                threads[t].Start();
            }
            Thread.Sleep(rng.Next(1, 15));
            var before = new List<(int, int)>();
            foreach (var list in acked) lock (list) before.AddRange(list);
            fs.Crash();
            foreach (var t in threads) t.Join();
            try { wal.Dispose(); } catch (IOException) { }

            var replayed = new HashSet<(int, int)>();
            WalReader.Replay(fs, "/w/1.log", (payload, _) => replayed.Add(Check(payload)), null);
            if (mode == WalSyncMode.PerWrite)
            {
                foreach (var r in before) Assert.True(replayed.Contains(r), $"round {round}: acknowledged record {r} lost");
            }
            // per writer, what survived is a prefix of what it wrote
            for (var w = 0; w < Writers; w++)
            {
                var indexes = replayed.Where(r => r.Item1 == w).Select(r => r.Item2).OrderBy(i => i).ToList();
                for (var i = 0; i < indexes.Count; i++) Assert.Equal(i, indexes[i]);
            }
        }
    }

    private static byte[] Record(int writer, int index)
    {
        var size = 8 + ((writer * 131) + (index * 17)) % 500;
        var bytes = Payload((writer << 20) | index, size);
        BinaryPrimitives.WriteInt32LittleEndian(bytes, writer);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), index);
        return bytes;
    }

    private static (int, int) Check(ReadOnlySpan<byte> payload)
    {
        var writer = BinaryPrimitives.ReadInt32LittleEndian(payload);
        var index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        Assert.Equal(Record(writer, index), payload.ToArray());
        return (writer, index);
    }
}
