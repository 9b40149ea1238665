using Kv.Engine.Format;

namespace Kv.Engine.Compaction;

/// <summary>
/// Walks the merged inputs of a compaction (internal-key order: per user key, newest version first) and yields
/// what the output keeps: one version per user key, the winner by <see cref="InternalKey.Supersedes"/>; shadowed
/// versions are dropped (a live scan that still wants them pins the input tables, not the output). A value that
/// expired before <c>expiredBeforeUnixMs</c> becomes a tombstone at the same timestamp (its bytes are garbage, but it
/// must keep shadowing older versions). A tombstone is dropped when <see cref="TombstonePurgePolicy.CanPurge"/> says so.
/// <para>The database passes now - grace period as the expiry cutoff: a tombstone carries only the value's write
/// timestamp, which is older than the expiry, so converting at expiry would let the tombstone be purged before the
/// expiry itself is a grace period old. Until the cutoff the expired value keeps reading as absent.
/// The conversion also waits while a version at or below its timestamp may live outside the compaction: a tombstone
/// would beat a value of the same timestamp there that the expired value loses to (ties go to the tombstone).</para>
/// </summary>
/// <remarks>Not thread-safe. <see cref="Key"/> and <see cref="Value"/> are valid until the next <see cref="MoveNext"/>.</remarks>
public sealed class CompactionIterator
{
    private readonly IInternalIterator _input;
    private readonly long _expiredBeforeUnixMs;
    private readonly TombstonePurgePolicy _purge;
    private byte[] _key = new byte[64];
    private byte[] _value = new byte[256];
    private int _keyLength, _valueLength;
    private bool _started;

    /// <param name="expiredBeforeUnixMs">values whose expiry time is before this become tombstones.</param>
    public CompactionIterator(IInternalIterator input, long expiredBeforeUnixMs, TombstonePurgePolicy purge)
    {
        _input = input;
        _expiredBeforeUnixMs = expiredBeforeUnixMs;
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
                EntryValue.TryRead(Value, out var expires, out _) && expires != 0 && expires < _expiredBeforeUnixMs &&
                !_purge.KeyMayExistOutside(InternalKey.UserKey(Key), timestamp))
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
