namespace Kv.Engine.IO;

/// <summary>
/// A file system in memory that can simulate a machine crash: <see cref="Crash"/> forgets every byte that was not
/// synced and every directory change (create, rename, delete, link) that was not followed by a
/// <see cref="SyncDirectory"/> of its directory. It enforces the durability rules documented on
/// <see cref="IFileSystem"/> and nothing more, so code that survives it relies only on those rules.
/// </summary>
/// <remarks>
/// Threading: every member is thread-safe; one lock (<c>_gate</c>) guards the whole state, including the contents
/// of files, so a reader never sees a half-applied append.
/// Model: a name maps to an inode (shared by hard links). Each inode keeps its bytes and how many of them are
/// durable (<c>Synced</c>). Each directory keeps two name tables, the live one and the durable one copied from it
/// at <see cref="SyncDirectory"/>. A crash truncates every inode to its durable length and replaces every live name
/// table by its durable copy. Truncating an existing file by <see cref="CreateWritable"/> counts as durable at once
/// (one of the outcomes a real file system allows). Directories themselves are always durable once created.
/// Writers opened before a crash throw <see cref="IOException"/> on every later call except Dispose.
/// </remarks>
public sealed class InMemoryFileSystem : IFileSystem
{
    private readonly object _gate = new();
    private readonly Dictionary<string, DirectoryNode> _directories = new(StringComparer.Ordinal);
    private int _generation;

    /// <summary>Number of completed <see cref="Crash"/> calls.</summary>
    public int CrashCount { get { lock (_gate) return _generation; } }

    public void CreateDirectory(string path)
    {
        lock (_gate) GetOrAddDirectory(Normalize(path));
    }

    public bool FileExists(string path)
    {
        lock (_gate) return TryGetInode(path, out _);
    }

    public bool DirectoryExists(string path)
    {
        lock (_gate) return _directories.ContainsKey(Normalize(path));
    }

    public IReadOnlyList<string> ListFiles(string directory)
    {
        lock (_gate)
        {
            if (!_directories.TryGetValue(Normalize(directory), out var dir))
                throw new DirectoryNotFoundException($"directory '{directory}' does not exist");
            var names = new List<string>(dir.Live.Keys);
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    public long GetFileLength(string path)
    {
        lock (_gate) return GetInode(path).Length;
    }

    public void DeleteFile(string path)
    {
        lock (_gate)
        {
            var (dir, name) = Split(path);
            // like File.Delete: deleting a missing file is not an error
            if (_directories.TryGetValue(dir, out var node)) node.Live.Remove(name);
        }
    }

    public void Rename(string from, string to)
    {
        lock (_gate)
        {
            var inode = GetInode(from);
            var (toDir, toName) = Split(to);
            var target = GetExistingDirectory(toDir, to);
            var (fromDir, fromName) = Split(from);
            _directories[fromDir].Live.Remove(fromName);
            target.Live[toName] = inode;
        }
    }

    public void SyncDirectory(string directory)
    {
        lock (_gate)
        {
            var dir = GetExistingDirectory(Normalize(directory), directory);
            dir.Durable.Clear();
            foreach (var (name, inode) in dir.Live) dir.Durable[name] = inode;
        }
    }

    public void HardLink(string existing, string link)
    {
        lock (_gate)
        {
            var inode = GetInode(existing);
            var (dir, name) = Split(link);
            var target = GetExistingDirectory(dir, link);
            if (target.Live.ContainsKey(name)) throw new IOException($"cannot hard-link '{existing}' as '{link}': the link already exists");
            target.Live[name] = inode;
        }
    }

    public IWritableFile CreateWritable(string path)
    {
        lock (_gate)
        {
            var (dir, name) = Split(path);
            var node = GetExistingDirectory(dir, path);
            if (node.Live.TryGetValue(name, out var inode))
            {
                inode.Truncate(0);
            }
            else
            {
                inode = new Inode();
                node.Live[name] = inode;
            }
            return new Writer(this, inode, path, _generation);
        }
    }

    public IRandomAccessFile OpenRandomAccess(string path)
    {
        lock (_gate) return new Reader(this, GetInode(path), path);
    }

    /// <summary>
    /// Simulates a power failure: every file is cut back to the bytes that were synced, every directory to the
    /// entries it had at its last <see cref="SyncDirectory"/>; writers opened before now are dead.
    /// </summary>
    public void Crash()
    {
        lock (_gate)
        {
            _generation++;
            var seen = new HashSet<Inode>(ReferenceEqualityComparer.Instance);
            foreach (var dir in _directories.Values)
            {
                dir.Live.Clear();
                foreach (var (name, inode) in dir.Durable)
                {
                    dir.Live[name] = inode;
                    if (seen.Add(inode)) inode.Truncate(inode.Synced);
                }
            }
        }
    }

    /// <summary>Damages stored data: XORs the byte at <paramref name="offset"/> with <paramref name="xorMask"/>
    /// (durable or not, as a disk error would).</summary>
    public void CorruptByte(string path, long offset, byte xorMask = 0xFF)
    {
        lock (_gate)
        {
            var inode = GetInode(path);
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, inode.Length);
            inode.Data[offset] ^= xorMask;
        }
    }

    /// <summary>Cuts a file to <paramref name="length"/> bytes (or zero-extends it), durably: simulates a torn or
    /// truncated file.</summary>
    public void Truncate(string path, long length)
    {
        lock (_gate)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            var inode = GetInode(path);
            if (length <= inode.Length) inode.Truncate(length);
            else inode.Append(new byte[length - inode.Length]);
            inode.Synced = inode.Length;
        }
    }

    /// <summary>Bytes of <paramref name="path"/> that would survive a crash right now.</summary>
    public long GetSyncedLength(string path)
    {
        lock (_gate) return GetInode(path).Synced;
    }

    /// <summary>A copy of the whole content of <paramref name="path"/>.</summary>
    public byte[] ReadAllBytes(string path)
    {
        lock (_gate)
        {
            var inode = GetInode(path);
            return inode.Data.AsSpan(0, checked((int)inode.Length)).ToArray();
        }
    }

    private static string Normalize(string path)
    {
        if (path.Length > 1) path = path.TrimEnd('/', '\\');
        return path.Length == 0 ? "/" : path;
    }

    private static (string Directory, string Name) Split(string path)
    {
        var full = Normalize(path);
        var name = Path.GetFileName(full);
        if (name.Length == 0) throw new IOException($"'{path}' is not a file path");
        var dir = Path.GetDirectoryName(full);
        return (string.IsNullOrEmpty(dir) ? "." : Normalize(dir), name);
    }

    private DirectoryNode GetOrAddDirectory(string path)
    {
        if (!_directories.TryGetValue(path, out var dir))
        {
            dir = new DirectoryNode();
            _directories.Add(path, dir);
        }
        return dir;
    }

    private DirectoryNode GetExistingDirectory(string dir, string forPath) =>
        _directories.TryGetValue(dir, out var node)
            ? node
            : throw new DirectoryNotFoundException($"cannot use '{forPath}': directory '{dir}' does not exist (create it first)");

    private bool TryGetInode(string path, out Inode inode)
    {
        var (dir, name) = Split(path);
        if (_directories.TryGetValue(dir, out var node) && node.Live.TryGetValue(name, out var found))
        {
            inode = found;
            return true;
        }
        inode = null!;
        return false;
    }

    private Inode GetInode(string path) =>
        TryGetInode(path, out var inode) ? inode : throw new FileNotFoundException($"file '{path}' does not exist", path);

    private sealed class DirectoryNode
    {
        public readonly Dictionary<string, Inode> Live = new(StringComparer.Ordinal);
        public readonly Dictionary<string, Inode> Durable = new(StringComparer.Ordinal);
    }

    private sealed class Inode
    {
        public byte[] Data = [];
        public long Length;
        public long Synced;

        public void Append(ReadOnlySpan<byte> bytes)
        {
            var needed = Length + bytes.Length;
            if (needed > Data.Length)
            {
                var capacity = Math.Max(needed, Math.Max(256, (long)Data.Length * 2));
                Array.Resize(ref Data, checked((int)Math.Min(capacity, Array.MaxLength)));
            }
            bytes.CopyTo(Data.AsSpan(checked((int)Length)));
            Length = needed;
        }

        public void Truncate(long length)
        {
            if (length < Length) Data.AsSpan((int)length, (int)(Length - length)).Clear();
            Length = length;
            if (Synced > length) Synced = length;
        }
    }

    private sealed class Writer(InMemoryFileSystem fs, Inode inode, string path, int generation) : IWritableFile
    {
        private bool _disposed;

        public long Length
        {
            get { lock (fs._gate) return inode.Length; }
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            lock (fs._gate)
            {
                Check();
                inode.Append(data);
            }
        }

        public void Flush()
        {
            lock (fs._gate) Check();
        }

        public void Sync()
        {
            lock (fs._gate)
            {
                Check();
                inode.Synced = inode.Length;
            }
        }

        public void Dispose()
        {
            lock (fs._gate) _disposed = true;
        }

        private void Check()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (generation != fs._generation)
                throw new IOException($"'{path}' was open when the (simulated) machine crashed; its writer is gone");
        }
    }

    private sealed class Reader(InMemoryFileSystem fs, Inode inode, string path) : IRandomAccessFile
    {
        public string Path => path;

        public long Length { get; } = inode.Length;

        public int Read(long offset, Span<byte> destination)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(offset);
            lock (fs._gate)
            {
                if (offset >= inode.Length) return 0;
                var n = (int)Math.Min(destination.Length, inode.Length - offset);
                inode.Data.AsSpan((int)offset, n).CopyTo(destination);
                return n;
            }
        }

        public void Dispose()
        {
        }
    }
}
