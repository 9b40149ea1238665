using Kv.Engine.Format;

namespace Kv.Engine.Iterators;

/// <summary>
/// Merges any number of sorted <see cref="IInternalIterator"/>s (memtables, tables) into one stream in
/// internal-key order, with a binary min-heap of the children's current keys. Versions of a key that
/// several children hold all come out, adjacent; resolving them is the consumer's job.
/// </summary>
/// <remarks>Not thread-safe. Owns its children: disposing the merge disposes them.</remarks>
internal sealed class MergingIterator : IInternalIterator
{
    private readonly IInternalIterator[] _children;
    private readonly int[] _heap;
    private int _heapSize;

    public MergingIterator(IInternalIterator[] children)
    {
        _children = children;
        _heap = new int[children.Length];
    }

    public bool Valid => _heapSize > 0;

    public ReadOnlySpan<byte> Key => _children[_heap[0]].Key;

    public ReadOnlySpan<byte> Value => _children[_heap[0]].Value;

    public void SeekToFirst()
    {
        foreach (var child in _children) child.SeekToFirst();
        Rebuild();
    }

    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        foreach (var child in _children) child.Seek(internalKey);
        Rebuild();
    }

    public void Next()
    {
        var top = _children[_heap[0]];
        top.Next();
        if (top.Valid)
        {
            SiftDown(0);
        }
        else
        {
            _heap[0] = _heap[--_heapSize];
            if (_heapSize > 0) SiftDown(0);
        }
    }

    private void Rebuild()
    {
        _heapSize = 0;
        for (var i = 0; i < _children.Length; i++)
        {
            if (_children[i].Valid) _heap[_heapSize++] = i;
        }
        for (var i = (_heapSize / 2) - 1; i >= 0; i--) SiftDown(i);
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            if (left >= _heapSize) return;
            var smallest = left;
            var right = left + 1;
            if (right < _heapSize && Less(_heap[right], _heap[left])) smallest = right;
            if (!Less(_heap[smallest], _heap[i])) return;
            (_heap[i], _heap[smallest]) = (_heap[smallest], _heap[i]);
            i = smallest;
        }
    }

    // Equal keys order by child index so the merge is deterministic.
    private bool Less(int a, int b)
    {
        var c = InternalKey.Compare(_children[a].Key, _children[b].Key);
        return c < 0 || (c == 0 && a < b);
    }

    public void Dispose()
    {
        foreach (var child in _children) child.Dispose();
    }
}
