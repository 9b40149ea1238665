using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine;

/// <summary>
/// A group of puts and deletes applied atomically by <see cref="Database.Write"/>. It encodes each
/// operation straight into the buffer that becomes the WAL record payload, so writing a batch copies
/// nothing further. Reusable: <see cref="Clear"/> keeps the buffer.
/// <code>
/// // batch  := count: u32 LE | record * count
/// // record := kind: u8 (0 tombstone, 1 value) | timestamp: i64 LE | key_len: varint32 | key
/// //           | value_len: varint32 | entry value (see EntryValue; empty for a tombstone)
/// </code>
/// wire format (WAL payload): changing this breaks existing logs. Documented in docs/formats/write-batch.md.
/// </summary>
/// <remarks>Not thread-safe: one thread fills a batch; it must not change while a write of it is in progress.</remarks>
public sealed class WriteBatch
{
    internal const int HeaderSize = 4;
    private byte[] _buffer;
    private int _length = HeaderSize;
    private int _count;

    public WriteBatch(int initialCapacity = 256)
    {
        _buffer = new byte[Math.Max(initialCapacity, 64)];
    }

    public int Count => _count;

    /// <summary>Encoded size in bytes (the WAL payload length).</summary>
    public int ByteSize => _length;

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestamp, long expiresAtUnixMs = 0)
    {
        if (expiresAtUnixMs < 0) throw new ArgumentOutOfRangeException(nameof(expiresAtUnixMs), "expiry is unix milliseconds, 0 for never");
        ThrowIfNegative(timestamp);
        var entryLength = EntryValue.EncodedLength(expiresAtUnixMs, value.Length);
        var span = Reserve(1 + 8 + Varint.MaxLength32 + key.Length + Varint.MaxLength32 + entryLength);
        span[0] = (byte)EntryKind.Value;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], timestamp);
        var n = 9 + Varint.Write(span[9..], (uint)key.Length);
        key.CopyTo(span[n..]);
        n += key.Length;
        n += Varint.Write(span[n..], (uint)entryLength);
        n += EntryValue.Write(span[n..], expiresAtUnixMs, value);
        Commit(n);
    }

    public void Delete(ReadOnlySpan<byte> key, long timestamp)
    {
        ThrowIfNegative(timestamp);
        var span = Reserve(1 + 8 + Varint.MaxLength32 + key.Length + 1);
        span[0] = (byte)EntryKind.Tombstone;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], timestamp);
        var n = 9 + Varint.Write(span[9..], (uint)key.Length);
        key.CopyTo(span[n..]);
        n += key.Length;
        span[n++] = 0; // value_len = 0
        Commit(n);
    }

    /// <summary>Internal keys order versions by the timestamp as an unsigned number: a negative one would sort as newer
    /// than every positive one while comparing as older, so it is refused.</summary>
    private static void ThrowIfNegative(long timestamp)
    {
        if (timestamp < 0)
            throw new ArgumentOutOfRangeException(nameof(timestamp), timestamp, "timestamps must be 0 or positive (an HLC value or unix time)");
    }

    public void Clear()
    {
        _length = HeaderSize;
        _count = 0;
    }

    /// <summary>An independent copy, for a write that must outlive its caller's use of this batch.</summary>
    internal WriteBatch Clone()
    {
        var copy = new WriteBatch(_length);
        _buffer.AsSpan(0, _length).CopyTo(copy._buffer);
        copy._length = _length;
        copy._count = _count;
        return copy;
    }

    /// <summary>The encoded batch, header included.</summary>
    internal ReadOnlySpan<byte> Payload
    {
        get
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_count);
            return _buffer.AsSpan(0, _length);
        }
    }

    internal ReadOnlyMemory<byte> PayloadMemory
    {
        get
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_count);
            return _buffer.AsMemory(0, _length);
        }
    }

    private Span<byte> Reserve(int maxBytes)
    {
        if (_length + maxBytes > _buffer.Length)
        {
            var grown = new byte[Math.Max(_buffer.Length * 2, _length + maxBytes)];
            _buffer.AsSpan(0, _length).CopyTo(grown);
            _buffer = grown;
        }
        return _buffer.AsSpan(_length);
    }

    private void Commit(int bytes)
    {
        _length += bytes;
        _count++;
    }
}
