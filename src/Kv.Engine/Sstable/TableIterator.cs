using System.Buffers;

namespace Kv.Engine.Sstable;

/// <summary>
/// Two-level iterator over a table: a position in the reader's decoded index picks the data block, a
/// <see cref="BlockIterator"/> walks it. Not thread-safe (one per scan); the reader it reads from is shared.
/// Blocks come from the block cache (shared, immutable) or, without one, a pooled buffer this iterator owns and
/// returns on <see cref="Dispose"/>.
/// </summary>
internal sealed class TableIterator : IInternalIterator
{
    private readonly TableReader _table;
    private readonly bool _fillCache;
    private readonly BlockIterator _data = new();
    private byte[]? _scratch;
    private int _block = -1;
    private bool _valid;

    public TableIterator(TableReader table, bool fillCache)
    {
        _table = table;
        _fillCache = fillCache;
    }

    public bool Valid => _valid;
    public ReadOnlySpan<byte> Key => _data.Key;
    public ReadOnlySpan<byte> Value => _data.Value;

    public void SeekToFirst()
    {
        if (!Load(0)) return;
        _data.SeekToFirst();
        SkipExhaustedBlocks();
    }

    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        if (!Load(_table.FindBlock(internalKey))) return;
        _data.Seek(internalKey);
        SkipExhaustedBlocks();
    }

    public void Next()
    {
        if (!_valid) throw new InvalidOperationException("Next on an iterator that is not positioned on an entry");
        _data.Next();
        SkipExhaustedBlocks();
    }

    public void Dispose()
    {
        _valid = false;
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }

    private void SkipExhaustedBlocks()
    {
        while (!_data.Valid)
        {
            if (!Load(_block + 1)) return;
            _data.SeekToFirst();
        }
        _valid = true;
    }

    private bool Load(int block)
    {
        _valid = false;
        if (block >= _table.BlockCount)
        {
            _block = _table.BlockCount;
            return false;
        }
        var data = _table.LoadBlock(block, _fillCache, ref _scratch, out var length);
        _data.Reset(data, length, _table.Path, _table.BlockOffset(block));
        _block = block;
        return true;
    }
}
