using Kv.Engine.Format;
using Kv.Engine.Sstable;

namespace Kv.Engine;

/// <summary>
/// An open live table with what point reads need to skip it cheaply (user-key range, max timestamp).
/// Reference-counted: every <see cref="ReadView"/> that lists it holds one reference; when the last one
/// goes and the table is no longer live (compaction replaced it), the reader is closed and the file deleted.
/// </summary>
/// <remarks>Thread-safe: immutable except for the reference count and the obsolete flag.</remarks>
internal sealed class TableHandle
{
    private readonly Action<TableHandle> _onObsoleteReleased;
    private int _references = 1; // the owner's (the database's table set)
    private volatile bool _obsolete;

    public TableHandle(TableReader reader, int level, long fileSize, Action<TableHandle> onObsoleteReleased)
    {
        Reader = reader;
        Level = level;
        FileSize = fileSize;
        _onObsoleteReleased = onObsoleteReleased;
        var props = reader.Properties;
        SmallestUserKey = props.SmallestKey.Length >= InternalKey.TrailerSize ? InternalKey.UserKey(props.SmallestKey).ToArray() : [];
        LargestUserKey = props.LargestKey.Length >= InternalKey.TrailerSize ? InternalKey.UserKey(props.LargestKey).ToArray() : [];
        MaxTimestamp = props.MaxTimestamp;
        MinTimestamp = props.MinTimestamp;
        IsEmpty = props.EntryCount == 0;
    }

    public TableReader Reader { get; }
    public ulong FileNumber => Reader.FileNumber;
    public int Level { get; }
    public long FileSize { get; }
    public byte[] SmallestUserKey { get; }
    public byte[] LargestUserKey { get; }
    public long MaxTimestamp { get; }
    public long MinTimestamp { get; }
    public bool IsEmpty { get; }

    /// <summary>True if <paramref name="userKey"/> lies inside the table's key range.</summary>
    public bool Covers(ReadOnlySpan<byte> userKey) =>
        !IsEmpty && userKey.SequenceCompareTo(SmallestUserKey) >= 0 && userKey.SequenceCompareTo(LargestUserKey) <= 0;

    public void AddReference() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) _onObsoleteReleased(this);
    }

    /// <summary>Marks the table as no longer live (set by whoever removed it from the version) and drops the owner's reference.</summary>
    public void MarkObsolete()
    {
        _obsolete = true;
        Release();
    }

    public bool IsObsolete => _obsolete;
}
