using Kv.Engine.Memtable;

namespace Kv.Engine;

/// <summary>
/// What a read sees: the mutable memtable, the memtable being flushed (if any) and the live tables,
/// newest first (L0 by descending file number, then deeper levels). A new view is published whenever
/// one of them changes (rotation, flush, and later compaction); reads and scans pin the view they
/// start with, so tables they use stay open and memtables they use keep their memory until they finish.
/// </summary>
/// <remarks>
/// Thread-safe. Immutable after construction except for the reference count. The database holds one
/// reference on the current view and drops it when it publishes the next one; <see cref="TryAcquire"/>
/// never resurrects a view whose count already reached zero.
/// </remarks>
internal sealed class ReadView
{
    private int _references = 1;

    public ReadView(SkipListMemtable mutable, SkipListMemtable? immutable, TableHandle[] tables)
    {
        Mutable = mutable;
        Immutable = immutable;
        Tables = tables;
        mutable.AddReference();
        immutable?.AddReference();
        foreach (var t in tables) t.AddReference();
    }

    public SkipListMemtable Mutable { get; }
    public SkipListMemtable? Immutable { get; }

    /// <summary>Newest first: a point read can stop early once older tables cannot beat what it found.</summary>
    public TableHandle[] Tables { get; }

    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current) return true;
            current = seen;
        }
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            foreach (var t in Tables) t.Release();
            Mutable.Release();
            Immutable?.Release();
        }
    }

    /// <summary>A disposable that releases this view once (what a Scanner holds).</summary>
    public IDisposable Pin() => new ViewPin(this);

    private sealed class ViewPin(ReadView view) : IDisposable
    {
        private ReadView? _view = view;

        public void Dispose() => Interlocked.Exchange(ref _view, null)?.Release();
    }
}
