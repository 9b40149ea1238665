namespace Kv.Engine.IO;

/// <summary>
/// Every file the engine touches goes through this seam, so that crash tests can run against an
/// in-memory file system that forgets whatever was not synced.
/// </summary>
/// <remarks>
/// Durability rules the engine relies on (and that the in-memory implementation enforces):
/// bytes appended to a file survive a crash only after <see cref="IWritableFile.Sync"/>;
/// a created, renamed or deleted directory entry survives only after <see cref="SyncDirectory"/>.
/// <see cref="Rename"/> atomically replaces the destination.
/// Paths are ordinary OS paths; implementations are thread-safe.
/// </remarks>
public interface IFileSystem
{
    void CreateDirectory(string path);
    bool FileExists(string path);
    bool DirectoryExists(string path);

    /// <summary>Names (not paths) of the regular files directly inside <paramref name="directory"/>.</summary>
    IReadOnlyList<string> ListFiles(string directory);

    long GetFileLength(string path);
    void DeleteFile(string path);
    void Rename(string from, string to);
    void SyncDirectory(string directory);

    /// <summary>Creates <paramref name="link"/> as a hard link to <paramref name="existing"/> (checkpoints). The link
    /// is durable only after <see cref="SyncDirectory"/> of its directory.</summary>
    /// <exception cref="NotSupportedException">the file system cannot link these paths (different devices, no hard
    /// links, not permitted): the caller may copy the file instead.</exception>
    void HardLink(string existing, string link);

    /// <summary>Creates (truncating) a file for appending.</summary>
    IWritableFile CreateWritable(string path);

    IRandomAccessFile OpenRandomAccess(string path);
}

/// <summary>An append-only file. Not thread-safe: one writer at a time.</summary>
public interface IWritableFile : IDisposable
{
    /// <summary>Bytes appended so far.</summary>
    long Length { get; }

    void Append(ReadOnlySpan<byte> data);

    /// <summary>Hands buffered bytes to the OS (not durable).</summary>
    void Flush();

    /// <summary>Makes every appended byte durable (fdatasync).</summary>
    void Sync();
}

/// <summary>A file opened for positional reads. Thread-safe: reads carry their own offset.</summary>
public interface IRandomAccessFile : IDisposable
{
    string Path { get; }
    long Length { get; }

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>;
    /// returns fewer only at end of file.</summary>
    int Read(long offset, Span<byte> destination);
}
