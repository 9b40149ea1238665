using System.Collections.Concurrent;
using Kv.Engine.IO;

namespace Kv.Engine;

/// <summary>
/// The LOCK file that keeps two Database instances from opening one directory. On the real file
/// system the file is held open with FileShare.None (an exclusive flock on Unix, so a second process
/// fails too); every file system, in-memory ones included, is also guarded in-process by path.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class DirectoryLock : IDisposable
{
    private static readonly ConcurrentDictionary<(IFileSystem, string), byte> s_held = new();
    private readonly (IFileSystem, string) _key;
    private FileStream? _stream;
    private bool _released;

    private DirectoryLock((IFileSystem, string) key, FileStream? stream)
    {
        _key = key;
        _stream = stream;
    }

    public static DirectoryLock Acquire(IFileSystem fileSystem, string directory)
    {
        var full = Path.GetFullPath(directory);
        var key = (fileSystem, full);
        if (!s_held.TryAdd(key, 0))
            throw new IOException($"the database in '{full}' is already open in this process; close it (Dispose) before opening it again");
        FileStream? stream = null;
        if (fileSystem is LocalFileSystem)
        {
            var path = Path.Combine(full, "LOCK");
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e)
            {
                s_held.TryRemove(key, out _);
                throw new IOException($"the database in '{full}' is locked by another process (LOCK file '{path}' is held): stop that process or open another directory", e);
            }
        }
        return new DirectoryLock(key, stream);
    }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        _stream?.Dispose();
        _stream = null;
        s_held.TryRemove(_key, out _);
    }
}
