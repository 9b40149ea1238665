namespace Kv.Engine.Cache;

/// <summary>An iterator over a table whose reader is leased from the <see cref="TableCache"/>: the lease (which keeps
/// the file open) ends when the iterator is disposed. Not thread-safe, like every iterator.</summary>
internal sealed class LeasedTableIterator(TableCache.Lease lease, IInternalIterator inner) : IInternalIterator
{
    private bool _disposed;

    public bool Valid => inner.Valid;
    public ReadOnlySpan<byte> Key => inner.Key;
    public ReadOnlySpan<byte> Value => inner.Value;
    public void SeekToFirst() => inner.SeekToFirst();
    public void Seek(ReadOnlySpan<byte> internalKey) => inner.Seek(internalKey);
    public void Next() => inner.Next();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            inner.Dispose();
        }
        finally
        {
            lease.Dispose();
        }
    }
}
