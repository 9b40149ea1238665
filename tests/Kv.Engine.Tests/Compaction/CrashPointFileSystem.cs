using Kv.Engine.IO;

namespace Kv.Engine.Tests.Compaction;

/// <summary>
/// Wraps an <see cref="InMemoryFileSystem"/> and, once armed, crashes it (then throws) at the N-th durability step:
/// creating a file, syncing a file or directory, renaming or deleting. Sweeping N over 1, 2, … crashes a piece of
/// work at every step it takes.
/// </summary>
/// <remarks>Thread-safe (the step counter is interlocked); meant for one worker doing the armed work.</remarks>
internal sealed class CrashPointFileSystem(InMemoryFileSystem inner) : IFileSystem
{
    private int _crashAt = -1;
    private int _steps;

    public bool Crashed { get; private set; }

    public void Arm(int crashAtStep)
    {
        _steps = 0;
        Crashed = false;
        Volatile.Write(ref _crashAt, crashAtStep);
    }

    public void Disarm() => Volatile.Write(ref _crashAt, -1);

    private void Step()
    {
        var at = Volatile.Read(ref _crashAt);
        if (at < 0) return;
        if (Interlocked.Increment(ref _steps) != at) return;
        Disarm();
        Crashed = true;
        inner.Crash();
        throw new IOException($"simulated crash at step {at}");
    }

    public void CreateDirectory(string path) => inner.CreateDirectory(path);
    public bool FileExists(string path) => inner.FileExists(path);
    public bool DirectoryExists(string path) => inner.DirectoryExists(path);
    public IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);
    public long GetFileLength(string path) => inner.GetFileLength(path);
    public IRandomAccessFile OpenRandomAccess(string path) => inner.OpenRandomAccess(path);

    public void DeleteFile(string path)
    {
        Step();
        inner.DeleteFile(path);
    }

    public void Rename(string from, string to)
    {
        Step();
        inner.Rename(from, to);
    }

    public void SyncDirectory(string directory)
    {
        Step();
        inner.SyncDirectory(directory);
    }

    public void HardLink(string existing, string link)
    {
        Step();
        inner.HardLink(existing, link);
    }

    public IWritableFile CreateWritable(string path)
    {
        Step();
        return new File(this, inner.CreateWritable(path));
    }

    private sealed class File(CrashPointFileSystem fs, IWritableFile file) : IWritableFile
    {
        public long Length => file.Length;
        public void Append(ReadOnlySpan<byte> data) => file.Append(data);
        public void Flush() => file.Flush();

        public void Sync()
        {
            fs.Step();
            file.Sync();
        }

        public void Dispose() => file.Dispose();
    }
}
