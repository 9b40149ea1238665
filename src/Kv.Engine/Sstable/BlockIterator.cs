using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Kv.Engine.Format;

namespace Kv.Engine.Sstable;

/// <summary>
/// Iterates the entries of one block's contents (layout in <see cref="BlockBuilder"/>) in internal-key
/// order; <see cref="Seek"/> binary-searches the restart points, then scans at most one restart interval.
/// </summary>
/// <remarks>
/// Not thread-safe; the block bytes it reads are never written, so any number of iterators may share one
/// cached block. Reusable: <see cref="Reset"/> points it at another block without allocating (the key
/// buffer grows once to the longest key seen). Contents that do not parse (they passed the checksum, so this
/// means a writer bug or a forged file) raise <see cref="CorruptionException"/> naming the file and block offset.
/// </remarks>
public sealed class BlockIterator : IInternalIterator
{
    private byte[] _data = [];
    private int _restartsOffset;
    private int _restartCount;
    private int _next;          // offset of the entry after the current one
    private bool _valid;
    private byte[] _key = new byte[64];
    private int _keyLength;
    private int _valueOffset;
    private int _valueLength;
    private string _path = "";
    private long _blockOffset;

    public BlockIterator() { }

    public BlockIterator(byte[] data, int length, string path = "", long blockOffset = 0) => Reset(data, length, path, blockOffset);

    /// <summary>Points the iterator at block contents <paramref name="data"/>[0..<paramref name="length"/>); leaves it not valid.</summary>
    public void Reset(byte[] data, int length, string path, long blockOffset)
    {
        _data = data;
        _path = path;
        _blockOffset = blockOffset;
        _valid = false;
        _keyLength = 0;
        if (length < 4 || length > data.Length) ThrowCorrupt("block shorter than its restart count");
        var count = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(length - 4));
        if (count == 0 || count > (uint)(length - 4) / 4) ThrowCorrupt($"bad restart count {count}");
        _restartCount = (int)count;
        _restartsOffset = length - 4 - (_restartCount * 4);
        _next = _restartsOffset;
    }

    public bool Valid => _valid;
    public ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);
    public ReadOnlySpan<byte> Value => _data.AsSpan(_valueOffset, _valueLength);

    public void SeekToFirst()
    {
        _keyLength = 0;
        _next = 0;
        ParseNext();
    }

    public void Next()
    {
        if (!_valid) throw new InvalidOperationException("Next on an iterator that is not positioned on an entry");
        ParseNext();
    }

    public void Seek(ReadOnlySpan<byte> internalKey)
    {
        // Find the last restart point whose key is < target; the answer is in its interval or the first
        // entry of the next one, which the linear scan reaches.
        var left = 0;
        var right = _restartCount - 1;
        while (left < right)
        {
            var mid = (left + right + 1) >>> 1;
            var restartKey = RestartKey(mid);
            if (InternalKey.Compare(restartKey, internalKey) < 0) left = mid;
            else right = mid - 1;
        }

        _keyLength = 0;
        _next = RestartOffset(left);
        while (true)
        {
            ParseNext();
            if (!_valid || InternalKey.Compare(Key, internalKey) >= 0) return;
        }
    }

    public void Dispose() { }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RestartOffset(int index)
    {
        var offset = BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan(_restartsOffset + (index * 4)));
        if (offset > (uint)_restartsOffset) ThrowCorrupt($"restart {index} points outside the block");
        return (int)offset;
    }

    private ReadOnlySpan<byte> RestartKey(int index)
    {
        var offset = RestartOffset(index);
        var entry = _data.AsSpan(offset, _restartsOffset - offset);
        var n = ReadHeader(entry, out var shared, out var unshared, out _);
        if (shared != 0 || unshared > entry.Length - n || unshared < InternalKey.TrailerSize) ThrowCorrupt($"bad restart entry at block offset {offset}");
        return entry.Slice(n, unshared);
    }

    private void ParseNext()
    {
        if (_next >= _restartsOffset)
        {
            _valid = false;
            _next = _restartsOffset;
            return;
        }

        var offset = _next;
        var entry = _data.AsSpan(offset, _restartsOffset - offset);
        var n = ReadHeader(entry, out var shared, out var unshared, out var valueLength);
        if (shared > _keyLength || (long)unshared + valueLength > entry.Length - n || shared + unshared < InternalKey.TrailerSize)
            ThrowCorrupt($"bad entry at block offset {offset}");

        var keyLength = shared + unshared;
        if (_key.Length < keyLength) GrowKey(keyLength);
        entry.Slice(n, unshared).CopyTo(_key.AsSpan(shared));
        _keyLength = keyLength;
        _valueOffset = offset + n + unshared;
        _valueLength = valueLength;
        _next = _valueOffset + valueLength;
        _valid = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadHeader(ReadOnlySpan<byte> entry, out int shared, out int unshared, out int valueLength)
    {
        // Fast path: all three lengths below 128 take one byte each.
        if (entry.Length >= 3 && (entry[0] | entry[1] | entry[2]) < 0x80)
        {
            shared = entry[0];
            unshared = entry[1];
            valueLength = entry[2];
            return 3;
        }

        var n = Varint.TryRead(entry, out uint s);
        if (n == 0) ThrowCorrupt("truncated entry header");
        var m = Varint.TryRead(entry[n..], out uint u);
        if (m == 0) ThrowCorrupt("truncated entry header");
        var k = Varint.TryRead(entry[(n + m)..], out uint v);
        if (k == 0 || s > int.MaxValue || u > int.MaxValue || v > int.MaxValue) ThrowCorrupt("truncated entry header");
        shared = (int)s;
        unshared = (int)u;
        valueLength = (int)v;
        return n + m + k;
    }

    private void GrowKey(int needed)
    {
        var size = _key.Length;
        while (size < needed) size *= 2;
        var bigger = new byte[size];
        _key.AsSpan(0, _keyLength).CopyTo(bigger);
        _key = bigger;
    }

    [DoesNotReturn]
    private void ThrowCorrupt(string what) => throw new CorruptionException(_path, _blockOffset, "block: " + what);
}
