namespace Kv.Engine.Memtable;

/// <summary>
/// The memory of flushed memtables, kept for the next ones: arena chunks of one size and point-lookup index slot
/// arrays of one length, at most one memtable's worth of each. A database has one; a memtable gives its memory
/// back when its last reference goes (<see cref="SkipListMemtable.Release"/>), not when the GC finds it.
/// </summary>
/// <remarks>
/// Why: a memtable's 64 MiB arena and 16 MiB index are fresh GC arrays, and the GC hands out fresh pages for
/// them, so every insert that crossed into a new page of the arena took a page fault and the kernel zeroed the
/// page (a 2 MiB huge page at a time) on the thread applying a group commit. Under SET -P16 (2026-11-24,
/// <c>perf</c>) the kernel's page clearing was 4.5-7.5 % of a node's CPU, and under 1 % with this pool; on this VM
/// a 2 MiB huge page took ~0.35 ms to fault in when the guest had the memory and ~4.5 ms when the hypervisor had to
/// back it first (docs/engine.md, "Memtable memory reuse"). Reused memory is already mapped: no faults, and the
/// index is cleared with a plain memset instead of fault-and-zero.
/// The cost: up to one memtable's worth of memory stays reserved after a burst of writes, reported as
/// <see cref="EngineStats.MemtablePoolBytes"/>.
/// Thread-safe.
/// </remarks>
internal sealed class MemtableMemoryPool
{
    private readonly object _lock = new();
    private readonly Stack<byte[]> _chunks = new();
    private readonly Stack<long[]> _slots = new();
    private readonly int _maxChunks;
    private readonly int _maxSlotArrays;
    private long _bytes;
    private long _chunksReused;

    /// <param name="chunkSize">The one arena chunk size pooled (larger, single-entry chunks are left to the GC).</param>
    /// <param name="maxChunks">How many chunks to keep: one memtable's worth.</param>
    /// <param name="maxSlotArrays">How many index slot arrays to keep.</param>
    public MemtableMemoryPool(int chunkSize, int maxChunks, int maxSlotArrays = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxChunks);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSlotArrays);
        ChunkSize = chunkSize;
        _maxChunks = maxChunks;
        _maxSlotArrays = maxSlotArrays;
    }

    /// <summary>The pool for memtables of <paramref name="memtableBytes"/> with arena chunks of <paramref name="chunkSize"/>.</summary>
    public static MemtableMemoryPool For(long memtableBytes, int chunkSize) =>
        new(chunkSize, (int)Math.Min(1024, (memtableBytes + chunkSize - 1) / chunkSize + 1));

    public int ChunkSize { get; }

    /// <summary>Bytes held for reuse.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Chunks handed out again since the database opened.</summary>
    public long ChunksReused => Volatile.Read(ref _chunksReused);

    public byte[]? TryTakeChunk()
    {
        lock (_lock)
        {
            if (!_chunks.TryPop(out var chunk)) return null;
            _bytes -= chunk.Length;
            _chunksReused++;
            return chunk;
        }
    }

    /// <summary>Keeps <paramref name="chunk"/> if it has the pooled size and the pool is not full; its contents are
    /// garbage to the next user (arena memory is never assumed zeroed).</summary>
    public void ReturnChunk(byte[] chunk)
    {
        if (chunk.Length != ChunkSize) return;
        lock (_lock)
        {
            if (_chunks.Count >= _maxChunks) return;
            _chunks.Push(chunk);
            _bytes += chunk.Length;
        }
    }

    /// <summary>A slot array of exactly <paramref name="length"/> elements, not cleared, or null.</summary>
    public long[]? TryTakeSlots(int length)
    {
        lock (_lock)
        {
            if (!_slots.TryPeek(out var slots) || slots.Length != length) return null;
            _slots.Pop();
            _bytes -= 8L * slots.Length;
            return slots;
        }
    }

    public void ReturnSlots(long[] slots)
    {
        lock (_lock)
        {
            if (_slots.Count >= _maxSlotArrays) return;
            if (_slots.TryPeek(out var other) && other.Length != slots.Length) return;
            _slots.Push(slots);
            _bytes += 8L * slots.Length;
        }
    }
}
