using System.Runtime.CompilerServices;

namespace Kv.Engine.Memtable;

/// <summary>
/// Bump allocator over large byte[] chunks: memtable entries live here instead of one GC object
/// per entry. An allocation is addressed by a 64-bit pointer <c>chunk index &lt;&lt; 32 | offset</c>;
/// 0 is never a valid pointer (every chunk starts allocating at offset 8).
/// </summary>
/// <remarks>
/// Threading: one allocating thread at a time (the memtable's single writer). Any number of
/// threads may resolve pointers concurrently: a chunk is published (volatile write of the chunk
/// table) before any pointer into it can be published by the skiplist, and chunks never move.
/// Chunks are ordinary GC arrays, reclaimed when the memtable and every snapshot that pins it are
/// gone; nothing is ever freed individually. With a <see cref="MemtableMemoryPool"/>, chunks come from the
/// pool when it has any and go back to it on <see cref="ReturnChunks"/>, which the memtable calls once nothing
/// can read it any more. With huge pages on, chunks are pinned and advised for
/// them (<see cref="HugePages"/>): the skiplist's random jumps across the arena then miss the TLB far less.
/// </remarks>
internal sealed class Arena
{
    private const int FirstOffset = 8;

    private readonly int _chunkSize;
    private readonly bool _hugePages;
    private readonly MemtableMemoryPool? _pool;
    private byte[][] _chunks = new byte[8][];
    private int _chunkCount;
    private byte[]? _current;
    private int _currentIndex = -1;
    private int _offset;
    private long _allocatedBytes;
    private long _usedBytes;

    public Arena(int chunkSize, bool hugePages = false, MemtableMemoryPool? pool = null)
    {
        if (pool is not null && pool.ChunkSize != chunkSize)
            throw new ArgumentException($"the pool holds chunks of {pool.ChunkSize} bytes, not {chunkSize}", nameof(pool));
        _chunkSize = chunkSize;
        _hugePages = hugePages;
        _pool = pool;
    }

    /// <summary>Bytes reserved from the GC for this arena (chunk sizes summed).</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>Bytes handed out by <see cref="Allocate"/> (what the entries take, alignment included).</summary>
    public long UsedBytes => Volatile.Read(ref _usedBytes);

    /// <summary>Reserves <paramref name="size"/> bytes aligned to 8; returns its pointer.</summary>
    public long Allocate(int size)
    {
        var aligned = (size + 7) & ~7;
        Volatile.Write(ref _usedBytes, _usedBytes + aligned);
        if (_current is null || _offset + aligned > _current.Length)
        {
            // Entries bigger than a quarter chunk get a chunk of their own so the shared chunk is not wasted.
            var chunkLength = aligned + FirstOffset > _chunkSize / 4 ? aligned + FirstOffset : _chunkSize;
            var chunk = (chunkLength == _chunkSize ? _pool?.TryTakeChunk() : null) ??
                        (_hugePages && chunkLength >= 2 * HugePages.Size
                            ? HugePages.AllocateUninitialized<byte>(chunkLength, advise: true, out _)
                            : GC.AllocateUninitializedArray<byte>(chunkLength));
            var index = AddChunk(chunk);
            Volatile.Write(ref _allocatedBytes, _allocatedBytes + chunkLength);
            if (chunkLength != _chunkSize && _current is not null)
            {
                // keep bump-allocating in the current shared chunk afterwards
                return ((long)index << 32) | FirstOffset;
            }
            _current = chunk;
            _currentIndex = index;
            _offset = FirstOffset;
        }
        var pointer = ((long)_currentIndex << 32) | (uint)_offset;
        _offset += aligned;
        return pointer;
    }

    /// <summary>Gives every chunk to the pool (those it keeps) and forgets them all: a pointer resolved afterwards
    /// fails with an index error instead of reading memory another memtable now owns. The owner calls this once no
    /// reader or writer can use the arena any more.</summary>
    public void ReturnChunks()
    {
        var chunks = _chunks;
        var count = _chunkCount;
        Volatile.Write(ref _chunks, []);
        _chunkCount = 0;
        _current = null;
        if (_pool is null) return;
        for (var i = 0; i < count; i++) _pool.ReturnChunk(chunks[i]);
    }

    private int AddChunk(byte[] chunk)
    {
        var chunks = _chunks;
        if (_chunkCount == chunks.Length)
        {
            var grown = new byte[chunks.Length * 2][];
            Array.Copy(chunks, grown, chunks.Length);
            chunks = grown;
        }
        chunks[_chunkCount] = chunk;
        Volatile.Write(ref _chunks, chunks);
        return _chunkCount++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte[] Chunk(long pointer) => Volatile.Read(ref _chunks)[(int)(pointer >> 32)];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Offset(long pointer) => (int)(uint)pointer;
}
