using System.Buffers;

namespace Kv.Protocol.Buffers;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}.Shared"/> arrays, reused
/// across messages (internode encoding) or requests (a RESP connection's value buffer), so the hot paths
/// allocate nothing once warm. Not thread-safe: one owner at a time.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity = 256) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, initialCapacity));

    public int WrittenCount => _written;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    private const int KeepAfterReset = 1024 * 1024;

    /// <summary>Forgets what was written, keeping the buffer unless it grew past 1 MiB (then it goes back to the
    /// pool, so an owner that once handled a huge value does not hold on to it).</summary>
    public void Reset()
    {
        _written = 0;
        if (_buffer.Length <= KeepAfterReset) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = ArrayPool<byte>.Shared.Rent(4096);
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
        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }
}
