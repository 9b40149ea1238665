using Kv.Engine.Format;

namespace Kv.Engine.Compaction;

/// <summary>
/// Walks the merged inputs of a compaction (internal-key order: per user key, newest version first) and yields
/// what the output keeps: one version per user key, the winner by <see cref="InternalKey.Supersedes"/>; shadowed
/// versions are dropped (a live scan that still wants them pins the input tables, not the output). An expired
/// value becomes a tombstone at the same timestamp (its bytes are garbage, but it must keep shadowing older
/// versions). A tombstone is dropped when <see cref="TombstonePurgePolicy.CanPurge"/> says so.
/// </summary>
/// <remarks>Not thread-safe. <see cref="Key"/> and <see cref="Value"/> are valid until the next <see cref="MoveNext"/>.</remarks>
public sealed class CompactionIterator
{
    private readonly IInternalIterator _input;
    private readonly long _nowUnixMs;
    private readonly TombstonePurgePolicy _purge;
    private byte[] _key = new byte[64];
    private byte[] _value = new byte[256];
    private int _keyLength, _valueLength;
    private bool _started;

    public CompactionIterator(IInternalIterator input, long nowUnixMs, TombstonePurgePolicy purge)
    {
        _input = input;
        _nowUnixMs = nowUnixMs;
        _purge = purge;
    }

    public long ShadowedDropped { get; private set; }
    public long ExpiredConverted { get; private set; }
    public long TombstonesPurged { get; private set; }

    public ReadOnlySpan<byte> Key => _key.AsSpan(0, _keyLength);
    public ReadOnlySpan<byte> Value => _value.AsSpan(0, _valueLength);

    /// <summary>Advances to the next kept entry; false at the end.</summary>
    public bool MoveNext()
    {
        if (!_started)
        {
            _input.SeekToFirst();
            _started = true;
        }
        while (_input.Valid)
        {
            // The first entry of a user key is its newest version; equal internal keys tie-break on value bytes.
            Copy(ref _key, _input.Key);
            _keyLength = _input.Key.Length;
            Copy(ref _value, _input.Value);
            _valueLength = _input.Value.Length;
            for (_input.Next(); _input.Valid; _input.Next())
            {
                var next = _input.Key;
                if (!InternalKey.UserKey(next).SequenceEqual(InternalKey.UserKey(Key))) break;
                if (next.SequenceEqual(Key) && _input.Value.SequenceCompareTo(Value) > 0)
                {
                    Copy(ref _value, _input.Value);
                    _valueLength = _input.Value.Length;
                }
                ShadowedDropped++;
            }

            var timestamp = InternalKey.Timestamp(Key);
            if (InternalKey.Kind(Key) == EntryKind.Value &&
                EntryValue.TryRead(Value, out var expires, out _) && EntryValue.IsExpired(expires, _nowUnixMs))
            {
                _key[_keyLength - 1] = (byte)EntryKind.Tombstone;
                _valueLength = 0;
                ExpiredConverted++;
            }
            if (InternalKey.Kind(Key) == EntryKind.Tombstone && _purge.CanPurge(InternalKey.UserKey(Key), timestamp))
            {
                TombstonesPurged++;
                continue;
            }
            return true;
        }
        return false;
    }

    private static void Copy(ref byte[] buffer, ReadOnlySpan<byte> data)
    {
        if (buffer.Length < data.Length) buffer = new byte[Math.Max(data.Length, buffer.Length * 2)];
        data.CopyTo(buffer);
    }
}
