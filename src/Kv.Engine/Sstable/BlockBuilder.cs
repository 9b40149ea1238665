using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine.Sstable;

/// <summary>
/// Builds the contents of one block (data or index): sorted entries with their keys prefix-compressed
/// against the previous key, and a full key every <c>restartInterval</c> entries so a reader can
/// binary-search.
/// <code>
/// // block contents := entry* | restart: u32 LE * restart_count | restart_count: u32 LE
/// // entry          := shared: varint | unshared: varint | value_len: varint | key_delta: u8*unshared | value: u8*value_len
/// //   key = previous_key[0..shared] ++ key_delta; shared = 0 at every restart point;
/// //   restart[i] = offset of the i-th restart entry; restart[0] = 0; restart_count &gt;= 1.
/// </code>
/// wire format: changing this breaks existing data. Keys are internal keys, added in strictly
/// increasing <see cref="InternalKey.Compare"/> order (the caller checks). Not thread-safe.
/// </summary>
public sealed class BlockBuilder
{
    private readonly int _restartInterval;
    private byte[] _buffer = new byte[4096];
    private int _length;
    private int[] _restarts = new int[16];
    private int _restartCount;
    private int _sinceRestart;
    private byte[] _lastKey = new byte[64];
    private int _lastKeyLength;
    private int _count;

    public BlockBuilder(int restartInterval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(restartInterval, 1);
        _restartInterval = restartInterval;
        Reset();
    }

    public int Count => _count;
    public bool IsEmpty => _count == 0;

    /// <summary>Size of the contents if <see cref="Finish"/> were called now.</summary>
    public int CurrentSize => _length + (_restartCount * 4) + 4;

    public ReadOnlySpan<byte> LastKey => _lastKey.AsSpan(0, _lastKeyLength);

    public void Reset()
    {
        _length = 0;
        _restarts[0] = 0;
        _restartCount = 1;
        _sinceRestart = 0;
        _lastKeyLength = 0;
        _count = 0;
    }

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var shared = 0;
        if (_sinceRestart < _restartInterval)
        {
            if (_count > 0) shared = key.CommonPrefixLength(LastKey);
        }
        else
        {
            if (_restartCount == _restarts.Length) Array.Resize(ref _restarts, _restarts.Length * 2);
            _restarts[_restartCount++] = _length;
            _sinceRestart = 0;
        }

        var unshared = key.Length - shared;
        var needed = (3 * Varint.MaxLength32) + unshared + value.Length;
        EnsureCapacity(needed);
        var dst = _buffer.AsSpan(_length);
        var n = Varint.Write(dst, (ulong)shared);
        n += Varint.Write(dst[n..], (ulong)unshared);
        n += Varint.Write(dst[n..], (ulong)value.Length);
        key[shared..].CopyTo(dst[n..]);
        n += unshared;
        value.CopyTo(dst[n..]);
        _length += n + value.Length;

        if (_lastKey.Length < key.Length) _lastKey = new byte[Math.Max(key.Length, _lastKey.Length * 2)];
        key[shared..].CopyTo(_lastKey.AsSpan(shared));
        _lastKeyLength = key.Length;
        _sinceRestart++;
        _count++;
    }

    /// <summary>Appends the restart array and returns the finished contents, valid until the next <see cref="Reset"/> or <see cref="Add"/>.</summary>
    public ReadOnlySpan<byte> Finish()
    {
        EnsureCapacity((_restartCount * 4) + 4);
        var dst = _buffer.AsSpan(_length);
        for (var i = 0; i < _restartCount; i++) BinaryPrimitives.WriteUInt32LittleEndian(dst[(i * 4)..], (uint)_restarts[i]);
        BinaryPrimitives.WriteUInt32LittleEndian(dst[(_restartCount * 4)..], (uint)_restartCount);
        return _buffer.AsSpan(0, _length + (_restartCount * 4) + 4);
    }

    private void EnsureCapacity(int extra)
    {
        if (_length + extra <= _buffer.Length) return;
        var size = _buffer.Length;
        while (size < _length + extra) size *= 2;
        Array.Resize(ref _buffer, size);
    }
}
