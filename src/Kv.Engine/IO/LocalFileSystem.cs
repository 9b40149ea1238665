using Microsoft.Win32.SafeHandles;

namespace Kv.Engine.IO;

/// <summary>The real file system, through <see cref="RandomAccess"/> and <see cref="FileStream"/>.</summary>
public sealed class LocalFileSystem : IFileSystem
{
    public static readonly LocalFileSystem Instance = new();

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);
    public bool FileExists(string path) => File.Exists(path);
    public bool DirectoryExists(string path) => Directory.Exists(path);

    public IReadOnlyList<string> ListFiles(string directory)
    {
        var names = new List<string>();
        foreach (var path in Directory.EnumerateFiles(directory)) names.Add(System.IO.Path.GetFileName(path));
        return names;
    }

    public long GetFileLength(string path) => new FileInfo(path).Length;
    public void DeleteFile(string path) => File.Delete(path);
    public void Rename(string from, string to) => File.Move(from, to, overwrite: true);

    public void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return; // directories cannot be opened for flushing there
        var fd = Posix.Open(directory, Posix.O_RDONLY | Posix.O_DIRECTORY);
        if (fd < 0) throw new IOException($"cannot open directory '{directory}' to sync it (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        try
        {
            if (Posix.Fsync(fd) != 0)
                throw new IOException($"fsync of directory '{directory}' failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
        finally { Posix.Close(fd); }
    }

    public void HardLink(string existing, string link)
    {
        if (OperatingSystem.IsWindows())
            throw new NotSupportedException($"hard links are not implemented on Windows; cannot link '{existing}' as '{link}'");
        if (Posix.Link(existing, link) == 0) return;
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno is Posix.EXDEV or Posix.EPERM or Posix.EMLINK or Posix.ENOSYS or Posix.EOPNOTSUPP)
            throw new NotSupportedException($"cannot hard-link '{existing}' as '{link}' (errno {errno}: different file systems, too many links, or links not permitted)");
        throw new IOException($"cannot hard-link '{existing}' as '{link}' (errno {errno})");
    }

    public IWritableFile CreateWritable(string path) => new LocalWritableFile(path);

    public IRandomAccessFile OpenRandomAccess(string path) => new LocalRandomAccessFile(path);

    /// <summary>
    /// A table or manifest being written: buffered writes, and on Linux the written bytes are handed to the disk every
    /// <see cref="WritebackBytes"/> as they come (<c>sync_file_range</c>, start write-back without waiting), rather
    /// than all at once by the final sync.
    /// </summary>
    /// <remarks>
    /// Why: a flush writes a 10 MiB table and a compaction tables of tens of MiB; left to the final fsync, that sync
    /// puts them on the disk in one burst, and a WAL fdatasync issued meanwhile waits behind the burst. Measured here
    /// (a 4 KiB O_DIRECT write plus fdatasync in a loop while another thread writes 60-100 MiB and syncs): the WAL
    /// sync's worst case went from 14-45 ms to 9-13 ms, and the final fsync from 17-48 ms to 0.2 ms. RocksDB's
    /// <c>bytes_per_sync</c> does the same for the same reason.
    /// </remarks>
    private sealed class LocalWritableFile : IWritableFile
    {
        public const int WritebackBytes = 1024 * 1024;
        private readonly FileStream _stream;
        private long _writtenBack; // bytes up to which write-back was started

        public LocalWritableFile(string path)
        {
            _stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 64 * 1024);
        }

        public long Length => _stream.Position;

        public void Append(ReadOnlySpan<byte> data)
        {
            _stream.Write(data);
            if (_stream.Position - _writtenBack >= WritebackBytes && OperatingSystem.IsLinux()) StartWriteback();
        }

        private void StartWriteback()
        {
            _stream.Flush(flushToDisk: false);
            var end = _stream.Position;
            // Only a hint: the final Sync makes the file durable whether or not this worked, so a failure is ignored.
            _ = Posix.SyncFileRange((int)_stream.SafeFileHandle.DangerousGetHandle(), _writtenBack, end - _writtenBack, Posix.SYNC_FILE_RANGE_WRITE);
            _writtenBack = end;
        }

        public void Flush() => _stream.Flush(flushToDisk: false);
        public void Sync() => _stream.Flush(flushToDisk: true);
        public void Dispose() => _stream.Dispose();
    }

    private sealed class LocalRandomAccessFile : IRandomAccessFile
    {
        private readonly SafeFileHandle _handle;

        public LocalRandomAccessFile(string path)
        {
            Path = path;
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Length = RandomAccess.GetLength(_handle);
        }

        public string Path { get; }
        public long Length { get; }

        public int Read(long offset, Span<byte> destination)
        {
            var total = 0;
            while (total < destination.Length)
            {
                var n = RandomAccess.Read(_handle, destination[total..], offset + total);
                if (n == 0) break;
                total += n;
            }
            return total;
        }

        public void Dispose() => _handle.Dispose();
    }
}
