using System.Buffers;

namespace Kv.Node.Resp.Net;

/// <summary>
/// A connection's received bytes that are not parsed yet (a RESP client's requests, a peer's internode frames): one pooled array, received into at its end and parsed in
/// place, so a request's arguments point into it until the connection moves on. The unparsed tail moves to the front
/// only when the free space runs short, and the array grows only for a request larger than it (the parser's limits
/// bound how large that can be); an empty buffer that grew goes back to its first size.
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
    private int _start;
    private int _end;

    public ReceiveBuffer(int initialSize = 16 * 1024)
    {
        _initialSize = Math.Max(initialSize, 2 * MinimumReceive);
        _keepWhenEmpty = Math.Max(4 * _initialSize, 64 * 1024);
        _array = ArrayPool<byte>.Shared.Rent(_initialSize);
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
            Replace(Math.Max(_array.Length * 2, length + MinimumReceive));
        }
        _start = 0;
        _end = length;
        return _array.AsMemory(_end);
    }

    /// <summary>Records that a receive put <paramref name="count"/> bytes into the space <see cref="GetReceiveSpace"/> gave.</summary>
    public void Received(int count) => _end += count;

    /// <summary>Everything before <paramref name="position"/> (a position in <see cref="Unparsed"/>) is parsed and done with.</summary>
    public void ConsumeTo(SequencePosition position) => _start = position.GetInteger();

    private void Replace(int size)
    {
        var array = ArrayPool<byte>.Shared.Rent(size);
        _array.AsSpan(_start, _end - _start).CopyTo(array);
        ArrayPool<byte>.Shared.Return(_array);
        _array = array;
    }

    public void Dispose()
    {
        var array = _array;
        _array = [];
        _start = _end = 0;
        if (array.Length > 0) ArrayPool<byte>.Shared.Return(array);
    }
}
