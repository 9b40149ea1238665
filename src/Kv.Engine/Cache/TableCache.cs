using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Sstable;

namespace Kv.Engine.Cache;

/// <summary>
/// A bounded set of open <see cref="TableReader"/>s (file handles, index and filter in memory), least recently used
/// first out. Callers take a <see cref="Lease"/>; a leased reader is never closed under them, so the cache may run
/// over <see cref="Capacity"/> while every open reader is leased, and shrinks back as leases end.
/// <see cref="Evict"/> (a table became obsolete) closes the reader once its last lease ends.
/// </summary>
/// <remarks>Thread-safe: all state is guarded by one private lock; opening a file happens under it too (a miss is
/// rare next to the reads it serves), and so does closing the readers a miss evicts to make room for it, so the
/// count of open files never passes the capacity while some are unleased. Other closes happen outside the lock.</remarks>
public sealed class TableCache : IDisposable
{
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly BlockCache? _blockCache;
    private readonly object _lock = new();
    private readonly Dictionary<ulong, Entry> _entries = [];
    private readonly LinkedList<Entry> _lru = []; // unleased entries only, least recently used first
    private long _hits, _misses;
    private bool _disposed;

    public TableCache(IFileSystem fs, string directory, int capacity, BlockCache? blockCache = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _fs = fs;
        _directory = directory;
        Capacity = capacity;
        _blockCache = blockCache;
    }

    public int Capacity { get; }

    public int OpenCount
    {
        get { lock (_lock) return _entries.Count; }
    }

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>The open reader of table <paramref name="fileNumber"/>, opening it if needed. Dispose the lease.</summary>
    public Lease Acquire(ulong fileNumber)
    {
        Lease lease;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(fileNumber, out var entry))
            {
                Interlocked.Increment(ref _hits);
                if (entry.References++ == 0) _lru.Remove(entry.Node);
            }
            else
            {
                Interlocked.Increment(ref _misses);
                // Make room first, so that the file count never passes the capacity (closing a file is cheap).
                CloseAll(TrimLocked(Capacity - 1));
                var reader = TableReader.Open(_fs, FileNames.TableFile(_directory, fileNumber), fileNumber, _blockCache);
                entry = new Entry(fileNumber, reader) { References = 1 };
                _entries.Add(fileNumber, entry);
            }
            lease = new Lease(this, entry);
        }
        return lease;
    }

    /// <summary>Drops table <paramref name="fileNumber"/>: closed now if unleased, else when its last lease ends.</summary>
    public void Evict(ulong fileNumber)
    {
        TableReader? close = null;
        lock (_lock)
        {
            if (!_entries.Remove(fileNumber, out var entry)) return;
            entry.Evicted = true;
            if (entry.References == 0)
            {
                _lru.Remove(entry.Node);
                close = entry.Reader;
            }
        }
        close?.Dispose();
        _blockCache?.EvictFile(fileNumber);
    }

    private void Release(Entry entry)
    {
        List<TableReader>? toClose = null;
        lock (_lock)
        {
            if (--entry.References > 0) return;
            if (entry.Evicted || _disposed)
            {
                toClose = [entry.Reader];
            }
            else
            {
                _lru.AddLast(entry.Node);
                toClose = TrimLocked();
            }
        }
        CloseAll(toClose);
    }

    /// <summary>Removes least recently used unleased entries past <paramref name="keep"/> (default: the capacity);
    /// returns their readers to close.</summary>
    private List<TableReader>? TrimLocked(int? keep = null)
    {
        List<TableReader>? toClose = null;
        while (_entries.Count > (keep ?? Capacity) && _lru.First is { } oldest)
        {
            _lru.RemoveFirst();
            _entries.Remove(oldest.Value.FileNumber);
            (toClose ??= []).Add(oldest.Value.Reader);
        }
        return toClose;
    }

    private static void CloseAll(List<TableReader>? readers)
    {
        if (readers is null) return;
        foreach (var r in readers) r.Dispose();
    }

    /// <summary>Closes every unleased reader; leased ones close when their lease ends.</summary>
    public void Dispose()
    {
        List<TableReader> toClose = [];
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var e in _lru) toClose.Add(e.Reader);
            _lru.Clear();
            _entries.Clear();
        }
        CloseAll(toClose);
    }

    internal sealed class Entry
    {
        public Entry(ulong fileNumber, TableReader reader)
        {
            FileNumber = fileNumber;
            Reader = reader;
            Node = new LinkedListNode<Entry>(this);
        }

        public ulong FileNumber { get; }
        public TableReader Reader { get; }
        public LinkedListNode<Entry> Node { get; }
        public int References; // guarded by the cache's lock
        public bool Evicted;   // guarded by the cache's lock
    }

    /// <summary>A use of an open reader (a struct: a lookup allocates nothing). Dispose exactly once.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly TableCache? _cache;
        private readonly Entry _entry;

        internal Lease(TableCache? cache, Entry entry)
        {
            _cache = cache;
            _entry = entry;
        }

        /// <summary>A lease on a reader that no cache manages (kept open by its owner): disposing it does nothing.</summary>
        internal static Lease Unmanaged(Entry pinned) => new(null, pinned);

        public TableReader Reader => _entry.Reader;

        public void Dispose() => _cache?.Release(_entry);
    }
}
