using Kv.Engine.Format;

namespace Kv.Engine;

/// <summary>
/// An ordered range scan over a consistent snapshot (see <see cref="Database.Scan"/>): for each user
/// key in [start, end) it yields the winning version, skipping tombstones and expired values unless
/// <see cref="ScanOptions.IncludeTombstones"/>.
/// </summary>
/// <remarks>
/// Not thread-safe: one thread drives a scanner. <see cref="Key"/> and <see cref="Value"/> are valid
/// until the next <see cref="MoveNext"/> or <see cref="Seek"/>. Dispose it: it pins memtables and table files
/// until then (also after the last key, so that <see cref="Seek"/> can reposition it).
/// </remarks>
public sealed class Scanner : IDisposable
{
    private readonly IInternalIterator _iterator;
    private readonly byte[]? _start;
    private readonly byte[]? _end;
    private readonly bool _includeTombstones;
    private readonly long _nowUnixMs;
    private IDisposable? _pin;
    private bool _started;
    private bool _done;
    private byte[] _key = new byte[64];
    private int _keyLength;
    private byte[] _value = new byte[256];
    private int _valueLength;
    private int _valueOffset;
    private byte[] _seekKey = new byte[64];

    internal Scanner(IInternalIterator iterator, ReadOnlySpan<byte> startInclusive, ReadOnlySpan<byte> endExclusive,
                     bool includeTombstones, long nowUnixMs, IDisposable? pin)
    {
        _iterator = iterator;
        _start = startInclusive.IsEmpty ? null : startInclusive.ToArray();
        _end = endExclusive.IsEmpty ? null : endExclusive.ToArray();
        _includeTombstones = includeTombstones;
        _nowUnixMs = nowUnixMs;
        _pin = pin;
    }

    public ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);

    /// <summary>The value bytes (empty for a tombstone).</summary>
    public ReadOnlySpan<byte> Value => _value.AsSpan(_valueOffset, _valueLength);

    public long Timestamp { get; private set; }

    public long ExpiresAtUnixMs { get; private set; }

    public bool IsTombstone { get; private set; }

    public bool MoveNext()
    {
        if (_done) return false;
        if (!_started)
        {
            _started = true;
            if (_start is null) _iterator.SeekToFirst();
            else SeekTo(_start);
        }
        while (_iterator.Valid)
        {
            var userKey = InternalKey.UserKey(_iterator.Key);
            if (_end is not null && userKey.SequenceCompareTo(_end) >= 0) break;
            if (ResolveCurrentKey()) return true;
        }
        _done = true;
        return false;
    }

    /// <summary>
    /// Repositions the scan, over the same snapshot, so that the next <see cref="MoveNext"/> yields the first key
    /// at or after <paramref name="userKey"/> (and never one before the scan's start or at/after its end).
    /// Cheaper than a new scan per lookup: the merged iterators and the pinned view are reused.
    /// </summary>
    public void Seek(ReadOnlySpan<byte> userKey)
    {
        ObjectDisposedException.ThrowIf(_pin is null, this);
        if (_start is not null && userKey.SequenceCompareTo(_start) < 0) userKey = _start;
        _started = true;
        _done = false;
        SeekTo(userKey);
    }

    /// <summary>Consumes every version of the current user key; true if its winner is to be yielded.</summary>
    private bool ResolveCurrentKey()
    {
        var internalKey = _iterator.Key;
        var userKey = InternalKey.UserKey(internalKey);
        CopyInto(ref _key, userKey);
        _keyLength = userKey.Length;
        Span<byte> trailer = stackalloc byte[InternalKey.TrailerSize];
        internalKey[^InternalKey.TrailerSize..].CopyTo(trailer);
        var timestamp = InternalKey.Timestamp(internalKey);
        var kind = InternalKey.Kind(internalKey);
        var entryValue = _iterator.Value;
        CopyInto(ref _value, entryValue);
        _valueLength = entryValue.Length;
        _valueOffset = 0;

        // The first version in internal-key order wins, except that identical internal keys
        // (same timestamp and kind) are broken by the greater value.
        for (_iterator.Next(); _iterator.Valid; _iterator.Next())
        {
            var next = _iterator.Key;
            if (!InternalKey.UserKey(next).SequenceEqual(Key)) break;
            if (!next[^InternalKey.TrailerSize..].SequenceEqual(trailer)) continue;
            var nextValue = _iterator.Value;
            if (nextValue.SequenceCompareTo(_value.AsSpan(0, _valueLength)) > 0)
            {
                CopyInto(ref _value, nextValue);
                _valueLength = nextValue.Length;
            }
        }

        Timestamp = timestamp;
        IsTombstone = kind == EntryKind.Tombstone;
        if (IsTombstone)
        {
            ExpiresAtUnixMs = 0;
            _valueLength = 0;
            return _includeTombstones;
        }
        if (!EntryValue.TryRead(_value.AsSpan(0, _valueLength), out var expires, out var value))
            throw new CorruptionException("(scan)", 0, "malformed entry value for a key in the scanned range");
        ExpiresAtUnixMs = expires;
        _valueOffset = _valueLength - value.Length;
        _valueLength = value.Length;
        return _includeTombstones || !EntryValue.IsExpired(expires, _nowUnixMs);
    }

    private void SeekTo(ReadOnlySpan<byte> userKey)
    {
        var length = InternalKey.EncodedLength(userKey.Length);
        if (_seekKey.Length < length) _seekKey = new byte[Math.Max(length, _seekKey.Length * 2)];
        InternalKey.WriteSeekKey(_seekKey, userKey);
        _iterator.Seek(_seekKey.AsSpan(0, length));
    }

    private static void CopyInto(ref byte[] buffer, ReadOnlySpan<byte> data)
    {
        if (buffer.Length < data.Length) buffer = new byte[Math.Max(data.Length, buffer.Length * 2)];
        data.CopyTo(buffer);
    }

    private void Release()
    {
        var pin = _pin;
        _pin = null;
        if (pin is not null)
        {
            _iterator.Dispose();
            pin.Dispose();
        }
    }

    public void Dispose()
    {
        _done = true;
        Release();
    }
}
