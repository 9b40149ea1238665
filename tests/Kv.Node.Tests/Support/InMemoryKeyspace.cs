using System.Buffers;
using System.Buffers.Binary;
using Kv.Gossip.Ring;
using Kv.Node.Storage;

namespace Kv.Node.Tests.Support;

/// <summary>
/// Test-only keyspace: a sorted dictionary of storage keys (token-prefixed like the engine's) under one
/// lock, with expiry judged by a TimeProvider. Lets the command layer be tested without the engine,
/// and serves as the model the engine-backed keyspace is compared with.
/// </summary>
public sealed class InMemoryKeyspace(TimeProvider time) : IKeyspace
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<byte[], (byte[] Value, long ExpiresAt)> _data = new(ByteComparer.Instance);

    public int WriteCount { get; private set; }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static byte[] StorageKey(ReadOnlySpan<byte> key)
    {
        var k = new byte[key.Length + Partitioner.TokenPrefixLength];
        Partitioner.WriteStorageKey(k, key);
        return k;
    }

    private bool TryRead(byte[] sk, out (byte[] Value, long ExpiresAt) entry)
    {
        if (_data.TryGetValue(sk, out entry) && (entry.ExpiresAt == 0 || entry.ExpiresAt > Now)) return true;
        entry = default;
        return false;
    }

    private KeyLookup ReadInto(ReadOnlySpan<byte> key, IBufferWriter<byte>? value)
    {
        if (!TryRead(StorageKey(key), out var e)) return KeyLookup.Absent;
        value?.Write(e.Value);
        return new KeyLookup(true, e.ExpiresAt);
    }

    private void Write(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiresAt)
    {
        _data[StorageKey(key)] = (value.ToArray(), expiresAt);
        WriteCount++;
    }

    public ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default)
    {
        lock (_lock) return new(ReadInto(key.Span, value));
    }

    public ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default)
    {
        lock (_lock) Write(key.Span, value.Span, expiresAtUnixMs);
        return default;
    }

    public ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var current = ReadInto(key.Span, previousValue);
            var write = options.Condition switch
            {
                SetCondition.IfAbsent => !current.Found,
                SetCondition.IfPresent => current.Found,
                _ => true,
            };
            if (write) Write(key.Span, value.Span, options.KeepTtl ? current.ExpiresAtUnixMs : options.ExpiresAtUnixMs);
            return new(new SetResult(write, current));
        }
    }

    public ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var (k, v) in pairs.Span) Write(k.Span, v.Span, 0);
        }
        return default;
    }

    public ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            foreach (var (k, _) in pairs.Span)
            {
                if (TryRead(StorageKey(k.Span), out _)) return new(false);
            }
            foreach (var (k, v) in pairs.Span) Write(k.Span, v.Span, 0);
        }
        return new(true);
    }

    public ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var sk = StorageKey(key.Span);
            var found = TryRead(sk, out _);
            _data.Remove(sk);
            return new(found);
        }
    }

    public ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var current = ReadInto(key.Span, value);
            _data.Remove(StorageKey(key.Span));
            return new(current);
        }
    }

    public ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var current = ReadInto(key.Span, value);
            if (current.Found && update.Action != ExpiryAction.Keep && update.Allows(current.ExpiresAtUnixMs)) Apply(key.Span, update);
            return new(current);
        }
    }

    public ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var buffer = new ArrayBufferWriter<byte>();
            var current = ReadInto(key.Span, buffer);
            var next = new ArrayBufferWriter<byte>();
            if (!update(current.Found, buffer.WrittenSpan, next)) return new(false);
            Write(key.Span, next.WrittenSpan, current.Found ? current.ExpiresAtUnixMs : 0);
            return new(true);
        }
    }

    public ValueTask<RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!TryRead(StorageKey(source.Span), out var entry)) return new(RenameOutcome.NoSource);
            if (source.Span.SequenceEqual(destination.Span)) return new(onlyIfAbsent ? RenameOutcome.DestinationExists : RenameOutcome.Renamed);
            if (onlyIfAbsent && TryRead(StorageKey(destination.Span), out _)) return new(RenameOutcome.DestinationExists);
            Write(destination.Span, entry.Value, entry.ExpiresAt);
            _data.Remove(StorageKey(source.Span));
            return new(RenameOutcome.Renamed);
        }
    }

    public ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var current = ReadInto(key.Span, null);
            if (!current.Found || update.Action == ExpiryAction.Keep || !update.Allows(current.ExpiresAtUnixMs)) return new(false);
            if (update.Action == ExpiryAction.Persist && current.ExpiresAtUnixMs == 0) return new(false);
            Apply(key.Span, update);
            return new(true);
        }
    }

    private void Apply(ReadOnlySpan<byte> key, ExpiryUpdate update)
    {
        var sk = StorageKey(key);
        var entry = _data[sk];
        if (update.Action == ExpiryAction.Set && update.ExpiresAtUnixMs <= Now) _data.Remove(sk);
        else _data[sk] = (entry.Value, update.Action == ExpiryAction.Persist ? 0 : update.ExpiresAtUnixMs);
    }

    public ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var start = ScanCursor.ResumeToken(cursor);
            var first = true;
            ulong last = 0;
            foreach (var (sk, entry) in _data)
            {
                var token = BinaryPrimitives.ReadUInt64BigEndian(sk);
                if (cursor != 0 && token < start) continue;
                if (entry.ExpiresAt != 0 && entry.ExpiresAt <= Now) continue;
                if (!first && token != last && keys.Count >= count)
                {
                    var resume = (last & 1) == 1 ? last + 1 : last + 2;
                    if (resume > last && resume <= token) return new(ScanCursor.FromResumeToken(resume));
                }
                keys.Add(sk[Partitioner.TokenPrefixLength..]);
                last = token;
                first = false;
            }
            return new(0L);
        }
    }

    public long EstimateKeyCount()
    {
        lock (_lock) return _data.Count;
    }

    public ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            long n = _data.Count;
            _data.Clear();
            return new(n);
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;

    public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => [new("engine", "in-memory (tests)")];

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
