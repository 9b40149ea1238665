using System.Buffers;
using Kv.Protocol.Buffers;

namespace Kv.Node.Resp.Net;

/// <summary>
/// A connection's received bytes that are not parsed yet (a RESP client's requests, a peer's internode frames): one
/// array, received into at its end and parsed in place, so a request's arguments point into it until the connection
/// moves on. The unparsed tail moves to the front only when the free space runs short, and the array grows only for a
/// request larger than it (the parser's limits bound how large that can be): by doubling, but never past the size the
/// request announced (<see cref="Expect"/>). An empty buffer that grew goes back to its first size. Arrays over
/// 1 MiB are not pooled (<see cref="BufferArrays"/>).
/// </summary>
/// <remarks>Threading: owned by the connection's request loop, like its parser. A receive must not start before the
/// requests parsed from the buffer are done with their arguments (the loop drains pending work first), because
/// <see cref="GetReceiveSpace"/> may move or replace the bytes they point into.</remarks>
internal sealed class ReceiveBuffer : IDisposable
{
    private const int MinimumReceive = 4 * 1024; // what a receive is offered at least, as the pipe reader did
    private readonly int _initialSize;
    private readonly int _keepWhenEmpty;
    private byte[] _array;
    private bool _pooled;
    private long _expected;
    private int _start;
    private int _end;

    public ReceiveBuffer(int initialSize = 16 * 1024)
    {
        _initialSize = Math.Max(initialSize, 2 * MinimumReceive);
        _keepWhenEmpty = Math.Max(4 * _initialSize, 64 * 1024);
        _array = BufferArrays.Allocate(_initialSize, out _pooled);
    }

    /// <summary>Bytes received and not yet consumed.</summary>
    public int Length => _end - _start;

    /// <summary>The bytes received and not yet consumed; <see cref="SequencePosition"/>s into it are array indexes.</summary>
    public ReadOnlySequence<byte> Unparsed => new(_array, _start, _end - _start);

    /// <summary>Free space at the end to receive into, at least <see cref="MinimumReceive"/> bytes.</summary>
    public Memory<byte> GetReceiveSpace()
    {
        if (_start == _end)
        {
            _start = _end = 0;
            if (_array.Length > _keepWhenEmpty) Replace(_initialSize);
        }
        if (_array.Length - _end >= MinimumReceive) return _array.AsMemory(_end);
        var length = _end - _start;
        if (_array.Length - length >= MinimumReceive && _start > 0)
        {
            _array.AsSpan(_start, length).CopyTo(_array);
        }
        else
        {
            var size = Math.Max(_array.Length * 2L, length + MinimumReceive);
            if (_expected > 0) size = Math.Max(Math.Min(size, _expected + MinimumReceive), length + MinimumReceive);
            Replace((int)Math.Min(Array.MaxLength, size));
        }
        _start = 0;
        _end = length;
        return _array.AsMemory(_end);
    }

    /// <summary>The request at the start of the unparsed bytes needs <paramref name="total"/> bytes in all, as far as the
    /// parser knows (0: unknown, or nothing partial): growth stops there instead of doubling past it. Growth still goes
    /// at most to twice the array, so a client that announces a large bulk and sends nothing costs no memory.</summary>
    public void Expect(long total) => _expected = total;

    /// <summary>Records that a receive put <paramref name="count"/> bytes into the space <see cref="GetReceiveSpace"/> gave.</summary>
    public void Received(int count) => _end += count;

    /// <summary>Everything before <paramref name="position"/> (a position in <see cref="Unparsed"/>) is parsed and done with.</summary>
    public void ConsumeTo(SequencePosition position) => _start = position.GetInteger();

    private void Replace(int size)
    {
        var array = BufferArrays.Allocate(size, out var pooled);
        _array.AsSpan(_start, _end - _start).CopyTo(array);
        BufferArrays.Release(_array, _pooled);
        _array = array;
        _pooled = pooled;
    }

    public void Dispose()
    {
        var array = _array;
        _array = [];
        _start = _end = 0;
        BufferArrays.Release(array, _pooled);
        _pooled = false;
    }
}
