using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine;

/// <summary>Decodes an encoded <see cref="WriteBatch"/> (a WAL record payload) one record at a time.</summary>
internal ref struct WriteBatchReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _position;
    private uint _remaining;

    /// <summary>False if the header is missing.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> payload, out WriteBatchReader reader)
    {
        reader = new WriteBatchReader(payload);
        return payload.Length >= WriteBatch.HeaderSize;
    }

    private WriteBatchReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _position = WriteBatch.HeaderSize;
        _remaining = payload.Length >= WriteBatch.HeaderSize ? BinaryPrimitives.ReadUInt32LittleEndian(payload) : 0;
    }

    public readonly uint Count => _payload.Length >= WriteBatch.HeaderSize ? BinaryPrimitives.ReadUInt32LittleEndian(_payload) : 0;

    /// <summary>True once every record announced by the header was read and no bytes are left over.</summary>
    public readonly bool AtCleanEnd => _remaining == 0 && _position == _payload.Length;

    /// <summary>Offset of the next record inside the payload (for corruption messages).</summary>
    public readonly int Position => _position;

    /// <summary>Reads the next record. Returns false at the end or when the record is malformed
    /// (tell them apart with <see cref="AtCleanEnd"/>).</summary>
    public bool TryNext(out EntryKind kind, out long timestamp, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> entryValue)
    {
        kind = default; timestamp = 0; key = default; entryValue = default;
        if (_remaining == 0) return false;
        var rest = _payload[_position..];
        if (rest.Length < 9) return false;
        var k = rest[0];
        if (k > (byte)EntryKind.Value) return false;
        kind = (EntryKind)k;
        timestamp = BinaryPrimitives.ReadInt64LittleEndian(rest[1..]);
        var n = 9;
        var m = Varint.TryRead(rest[n..], out uint keyLength);
        if (m == 0) return false;
        n += m;
        if ((uint)(rest.Length - n) < keyLength) return false;
        key = rest.Slice(n, (int)keyLength);
        n += (int)keyLength;
        m = Varint.TryRead(rest[n..], out uint valueLength);
        if (m == 0) return false;
        n += m;
        if ((uint)(rest.Length - n) < valueLength) return false;
        entryValue = rest.Slice(n, (int)valueLength);
        if (kind == EntryKind.Tombstone && valueLength != 0) return false;
        if (kind == EntryKind.Value && !EntryValue.TryRead(entryValue, out _, out _)) return false;
        n += (int)valueLength;
        _position += n;
        _remaining--;
        return true;
    }
}
