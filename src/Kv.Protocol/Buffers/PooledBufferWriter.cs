using System.Buffers;

namespace Kv.Protocol.Buffers;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}.Shared"/> arrays, reused
/// across messages (internode encoding) or requests (a RESP connection's value buffer), so the hot paths
/// allocate nothing once warm; arrays over 1 MiB (a huge value) are not pooled (<see cref="BufferArrays"/>).
/// Not thread-safe: one owner at a time.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private bool _pooled;
    private int _written;

    public PooledBufferWriter(int initialCapacity = 256) => _buffer = BufferArrays.Allocate(Math.Max(16, initialCapacity), out _pooled);

    public int WrittenCount => _written;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    private const int KeepAfterReset = 1024 * 1024;

    /// <summary>Forgets what was written, keeping the buffer unless it grew past 1 MiB (then it is let go, so an
    /// owner that once handled a huge value does not hold on to it).</summary>
    public void Reset()
    {
        _written = 0;
        if (_buffer.Length <= KeepAfterReset) return;
        BufferArrays.Release(_buffer, _pooled);
        _buffer = BufferArrays.Allocate(4096, out _pooled);
    }

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written)) throw new ArgumentOutOfRangeException(nameof(count), $"advanced {count} bytes past the {_buffer.Length - _written} available");
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_buffer.Length - _written >= sizeHint) return;
        var size = (int)Math.Min(Array.MaxLength, Math.Max(_buffer.Length * 2L, (long)_written + sizeHint));
        var grown = BufferArrays.Allocate(size, out var pooled);
        _buffer.AsSpan(0, _written).CopyTo(grown);
        BufferArrays.Release(_buffer, _pooled);
        _buffer = grown;
        _pooled = pooled;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        BufferArrays.Release(buffer, _pooled);
        _pooled = false;
    }
}
