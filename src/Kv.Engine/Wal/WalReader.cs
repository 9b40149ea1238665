using Kv.Engine.IO;
using Microsoft.Extensions.Logging;

namespace Kv.Engine.Wal;

/// <summary>Replays the records of a WAL file written by <see cref="WalWriter"/> (format: <see cref="LogFormat"/>).</summary>
public static class WalReader
{
    /// <summary>Receives one record: its payload (valid only during the call) and the file offset where it starts.</summary>
    public delegate void RecordHandler(ReadOnlySpan<byte> payload, long offset);

    /// <summary>
    /// Calls <paramref name="handler"/> for every record of <paramref name="path"/>, in order. A torn tail (a last
    /// record that a crash cut short, garbage or zero padding after the last record) is dropped and logged.
    /// </summary>
    /// <exception cref="CorruptionException">a damaged record followed by valid data: names the file and the offset.</exception>
    public static void Replay(IFileSystem fs, string path, RecordHandler handler, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(handler);
        using var file = fs.OpenRandomAccess(path);
        using var reader = new LogReader(file, logger);
        while (reader.TryReadRecord(out var payload, out var offset)) handler(payload, offset);
    }
}
