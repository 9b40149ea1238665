using System.Runtime.CompilerServices;

namespace Kv.Protocol.Resp;

/// <summary>
/// One parsed request: its arguments as slices of a contiguous buffer. Reused for every request of a
/// connection, so parsing allocates nothing once the argument table has grown to the largest request seen.
/// </summary>
/// <remarks>
/// Not thread-safe: owned by one connection. The arguments are valid until the next parse into this
/// instance and until the input buffer they point into is released (the connection reuses its receive
/// buffer only after the batch of requests has been executed).
/// </remarks>
public sealed class RespRequest
{
    private (int Start, int Length)[] _args = new (int, int)[8];
    private ReadOnlyMemory<byte> _buffer;

    public int Count { get; private set; }

    public bool IsInline { get; internal set; }

    /// <summary>Argument <paramref name="index"/> as a span (valid while the request is current).</summary>
    public ReadOnlySpan<byte> this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var (start, length) = _args[index];
            return _buffer.Span.Slice(start, length);
        }
    }

    /// <summary>Argument <paramref name="index"/> as memory, for APIs that outlive a span (async storage calls).</summary>
    public ReadOnlyMemory<byte> Memory(int index)
    {
        var (start, length) = _args[index];
        return _buffer.Slice(start, length);
    }

    internal void Reset(ReadOnlyMemory<byte> buffer)
    {
        _buffer = buffer;
        Count = 0;
        IsInline = false;
    }

    internal void EnsureCapacity(int count)
    {
        if (_args.Length < count) Array.Resize(ref _args, Math.Max(count, _args.Length * 2));
    }

    internal void Add(int start, int length)
    {
        if (Count == _args.Length) Array.Resize(ref _args, _args.Length * 2);
        _args[Count++] = (start, length);
    }

    /// <summary>Test and diagnostics helper: argument <paramref name="index"/> as a fresh array.</summary>
    public byte[] ToArray(int index) => this[index].ToArray();
}
