using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.Manifest;
using Kv.Engine.Sstable;

namespace Kv.Engine;

/// <summary>
/// A live table with what point reads need to skip it cheaply (user-key range, max timestamp) and a way to its
/// reader: either a reader the handle keeps open for its whole life (<see cref="EngineOptions.MaxOpenTables"/> = 0),
/// or one leased from the bounded <see cref="TableCache"/>, which may close it between uses.
/// Reference-counted: every <see cref="ReadView"/> that lists it holds one reference; when the last one goes, the
/// reader is closed and, if the table is no longer live (compaction replaced it), the file deleted.
/// </summary>
/// <remarks>Thread-safe: immutable except for the reference count and the obsolete flag.</remarks>
internal sealed class TableHandle
{
    private readonly Action<TableHandle> _onLastRelease;
    private readonly TableCache.Entry? _pinned;
    private readonly TableCache? _cache;
    private int _references = 1; // the owner's (the database's table set)
    private volatile bool _obsolete;

    /// <summary>A handle that keeps <paramref name="reader"/> open until the last reference goes.</summary>
    public TableHandle(TableReader reader, int level, Action<TableHandle> onLastRelease)
        : this(reader.FileNumber, reader.Path, level, reader.FileSize, reader.Properties, onLastRelease)
    {
        _pinned = new TableCache.Entry(reader.FileNumber, reader);
    }

    /// <summary>A handle whose reader lives in <paramref name="cache"/>; <paramref name="reader"/> (leased by the
    /// caller, who ends the lease) supplies the metadata.</summary>
    public TableHandle(TableCache cache, TableReader reader, int level, Action<TableHandle> onLastRelease)
        : this(reader.FileNumber, reader.Path, level, reader.FileSize, reader.Properties, onLastRelease)
    {
        _cache = cache;
    }

    private TableHandle(ulong number, string path, int level, long fileSize, TableProperties props, Action<TableHandle> onLastRelease)
    {
        FileNumber = number;
        Path = path;
        Level = level;
        FileSize = fileSize;
        Properties = props;
        _onLastRelease = onLastRelease;
        SmallestUserKey = props.SmallestKey.Length >= InternalKey.TrailerSize ? InternalKey.UserKey(props.SmallestKey).ToArray() : [];
        LargestUserKey = props.LargestKey.Length >= InternalKey.TrailerSize ? InternalKey.UserKey(props.LargestKey).ToArray() : [];
        MaxTimestamp = props.MaxTimestamp;
        MinTimestamp = props.MinTimestamp;
        IsEmpty = props.EntryCount == 0;
    }

    public ulong FileNumber { get; }
    public string Path { get; }
    public int Level { get; }
    public long FileSize { get; }
    public TableProperties Properties { get; }
    public byte[] SmallestUserKey { get; }
    public byte[] LargestUserKey { get; }
    public long MaxTimestamp { get; }
    public long MinTimestamp { get; }
    public bool IsEmpty { get; }

    /// <summary>What the manifest records about this table.</summary>
    public FileMetadata Metadata =>
        new(FileNumber, FileSize, Properties.SmallestKey, Properties.LargestKey, Properties.MinTimestamp, Properties.MaxTimestamp);

    /// <summary>True if <paramref name="userKey"/> lies inside the table's key range.</summary>
    public bool Covers(ReadOnlySpan<byte> userKey) =>
        !IsEmpty && userKey.SequenceCompareTo(SmallestUserKey) >= 0 && userKey.SequenceCompareTo(LargestUserKey) <= 0;

    /// <summary>The open reader, for one use: dispose the lease right after (the caller holds a reference on this
    /// handle meanwhile). May open the file (table cache miss) and throw what opening throws.</summary>
    public TableCache.Lease AcquireReader() => _pinned is not null ? TableCache.Lease.Unmanaged(_pinned) : _cache!.Acquire(FileNumber);

    /// <summary>An iterator over the table that keeps its reader open until disposed.</summary>
    public IInternalIterator NewIterator(bool fillCache = true)
    {
        if (_pinned is not null) return _pinned.Reader.NewIterator(fillCache);
        var lease = _cache!.Acquire(FileNumber);
        try
        {
            return new LeasedTableIterator(lease, lease.Reader.NewIterator(fillCache));
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Closes the reader (kept open: now; cached: once its last lease ends). Called once, by the last release.</summary>
    public void CloseReader()
    {
        if (_pinned is not null) _pinned.Reader.Dispose();
        else _cache!.Evict(FileNumber);
    }

    public void AddReference() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) _onLastRelease(this);
    }

    /// <summary>Marks the table as no longer live (set by whoever removed it from the version) and drops the owner's reference.</summary>
    public void MarkObsolete()
    {
        _obsolete = true;
        Release();
    }

    public bool IsObsolete => _obsolete;
}
