using Kv.Engine.Format;

namespace Kv.Engine.Memtable;

/// <summary>
/// Walks a <see cref="SkipListMemtable"/> in internal-key order, hiding entries whose sequence is
/// above the snapshot it was created with (writes that began after the scan started).
/// </summary>
/// <remarks>Not thread-safe (one iterator, one thread); any number of iterators may run beside the writer.</remarks>
internal sealed class MemtableIterator : IInternalIterator
{
    private readonly SkipListMemtable _table;
    private readonly long _snapshot;
    private long _node;

    public MemtableIterator(SkipListMemtable table, long snapshotSequence)
    {
        _table = table;
        _snapshot = snapshotSequence;
    }

    public bool Valid => _node != 0;

    public ReadOnlySpan<byte> Key => _table.NodeKey(_node);

    public ReadOnlySpan<byte> Value => _table.NodeValue(_node);

    /// <summary>The in-memory sequence of the current entry.</summary>
    public long Sequence => _table.NodeSequence(_node);

    public void SeekToFirst()
    {
        _node = _table.First();
        SkipInvisible();
    }

    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        _node = _table.FindGreaterOrEqual(internalKey);
        SkipInvisible();
    }

    /// <summary>Positions at the newest version of <paramref name="userKey"/> or the first key after it.</summary>
    public void SeekUserKey(ReadOnlySpan<byte> userKey)
    {
        var length = InternalKey.EncodedLength(userKey.Length);
        var rented = length > 256 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> seek = rented is null ? stackalloc byte[256] : rented;
        seek = seek[..length];
        InternalKey.WriteSeekKey(seek, userKey);
        Seek(seek);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
    }

    public void Next()
    {
        _node = _table.Next(_node);
        SkipInvisible();
        _table.PrefetchSuccessor(_node); // the next Next's node loads while the caller works on this one
    }

    private void SkipInvisible()
    {
        while (_node != 0 && _table.NodeSequence(_node) > _snapshot) _node = _table.Next(_node);
    }

    public void Dispose()
    {
        _node = 0;
    }
}
