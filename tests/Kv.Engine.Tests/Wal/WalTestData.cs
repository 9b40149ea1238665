using Kv.Engine.IO;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;

namespace Kv.Engine.Tests.Wal;

internal static class WalTestData
{
    public static byte[] Payload(int seed, int size)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static InMemoryFileSystem NewFs()
    {
        var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/w");
        return fs;
    }

    /// <summary>Writes the records with a per-write-sync WAL; returns the payloads.</summary>
    public static List<byte[]> Write(IFileSystem fs, string path, IEnumerable<int> sizes, int seed = 1)
    {
        var payloads = new List<byte[]>();
        using var wal = WalWriter.Create(fs, path, new WalOptions { SyncMode = WalSyncMode.PerWrite });
        var i = 0;
        foreach (var size in sizes)
        {
            var p = Payload((seed * 7919) + i++, size);
            wal.Append(p);
            payloads.Add(p);
        }
        return payloads;
    }

    public static List<(byte[] Payload, long Offset)> Replay(IFileSystem fs, string path, ILogger? logger = null)
    {
        var records = new List<(byte[], long)>();
        WalReader.Replay(fs, path, (payload, offset) => records.Add((payload.ToArray(), offset)), logger);
        return records;
    }

    /// <summary>A file system holding one synced file with exactly <paramref name="bytes"/>.</summary>
    public static InMemoryFileSystem FileWith(string path, ReadOnlySpan<byte> bytes)
    {
        var fs = NewFs();
        using (var f = fs.CreateWritable(path))
        {
            f.Append(bytes);
            f.Sync();
        }
        fs.SyncDirectory("/w");
        return fs;
    }
}
