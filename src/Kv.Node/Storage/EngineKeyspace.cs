using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Kv.Engine;
using Kv.Gossip.Ring;
using Kv.Node.Time;
using Partitioner = Kv.Gossip.Ring.Partitioner;

namespace Kv.Node.Storage;

/// <summary>
/// The keyspace of a single node: every key lives in the local engine as
/// <c>[token: u64 BE][user key]</c> (<see cref="Partitioner.WriteStorageKey"/>), every write carries a
/// timestamp from the node's <see cref="HybridLogicalClock"/>, and expiry is the engine's per-value
/// expiry (expired values read as absent).
/// </summary>
/// <remarks>
/// Threading: thread-safe. Plain reads go straight to the engine. Read-modify-writes (conditional SET,
/// GETDEL, GETEX, EXPIRE family, INCR family, DEL's existence count, RENAME, MSETNX) hold one of 1024
/// striped async locks, chosen by the key's hash, across their read and their (durable) write, so they
/// are atomic against each other on this node. Blind writes (plain SET, MSET) take no lock while none is
/// held on their stripe, but are counted (<see cref="BlindWrites"/>): a read-modify-write that takes the
/// lock first waits for the blind writes already handed to the engine, and a blind write that finds the
/// lock held takes it and is timestamped after the holder's write. So a read-modify-write is atomic
/// against blind writes too: an INCR never buries a SET acknowledged while it ran.
/// Write batches are pooled; a batch returns to the pool once its write completed.
/// </remarks>
public sealed class EngineKeyspace : IKeyspace
{
    private const int StripeCount = 1024;
    private const int StackKeyLimit = 512;
    private readonly Database _db;
    private readonly HybridLogicalClock _clock;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim[] _stripes = new SemaphoreSlim[StripeCount];
    private readonly BlindWrites _blind = new(StripeCount);
    private readonly ConcurrentQueue<WriteBatch> _batches = new();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_discard;

    public EngineKeyspace(Database database, HybridLogicalClock clock, TimeProvider time)
    {
        _db = database;
        _clock = clock;
        _time = time;
        for (var i = 0; i < StripeCount; i++) _stripes[i] = new SemaphoreSlim(1, 1);
    }

    public HybridLogicalClock Clock => _clock;

    private long NowUnixMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- reads ----

    public ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default) =>
        new(Read(key.Span, value));

    private KeyLookup Read(ReadOnlySpan<byte> key, IBufferWriter<byte>? value)
    {
        byte[]? rented = null;
        var storageKey = key.Length + Partitioner.TokenPrefixLength <= StackKeyLimit
            ? stackalloc byte[StackKeyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(key.Length + Partitioner.TokenPrefixLength));
        try
        {
            var n = Partitioner.WriteStorageKey(storageKey, key);
            IBufferWriter<byte> destination;
            if (value is null)
            {
                var discard = t_discard ??= new ArrayBufferWriter<byte>(256);
                discard.ResetWrittenCount();
                destination = discard;
            }
            else
            {
                destination = value;
            }
            _db.TryGet(storageKey[..n], destination, out var status, out _, out var expiresAt);
            return status == ReadStatus.Found ? new KeyLookup(true, expiresAt) : KeyLookup.Absent;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // ---- writes ----

    public ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        if (!_blind.TryEnter(index, _stripes[index])) return SetUnderLockAsync(key, value, expiresAtUnixMs, index, cancellationToken);
        // Timestamped only now that it is counted: a read-modify-write that held the stripe before has written already
        // (with an older timestamp), and one that takes it later waits for this write and timestamps after it.
        return _blind.Track(WriteCounted(key, value, expiresAtUnixMs, index, cancellationToken), index);
    }

    /// <summary>A blind write whose stripe a read-modify-write holds: written once the lock is free, timestamped under it.</summary>
    private async ValueTask SetUnderLockAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, int index, CancellationToken cancellationToken)
    {
        var stripe = _stripes[index];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        ValueTask write;
        try
        {
            _blind.Enter(index);
            write = WriteCounted(key, value, expiresAtUnixMs, index, cancellationToken);
        }
        finally
        {
            stripe.Release();
        }
        await _blind.Track(write, index).ConfigureAwait(false);
    }

    public async ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default)
    {
        // As SetAsync, for every key's stripe: counted without locks while none is held, else under all of them
        // (in index order, as MSETNX takes them).
        var stripes = new int[pairs.Length];
        for (var i = 0; i < stripes.Length; i++) stripes[i] = StripeIndex(pairs.Span[i].Key.Span);
        var entered = 0;
        while (entered < stripes.Length && _blind.TryEnter(stripes[entered], _stripes[stripes[entered]])) entered++;
        WriteBatch batch;
        ValueTask write;
        if (entered == stripes.Length)
        {
            try
            {
                batch = RentBatch(); // timestamped once counted, as in SetAsync
                foreach (var (key, value) in pairs.Span) Put(batch, key.Span, value.Span, 0);
                write = Commit(batch, cancellationToken);
            }
            catch
            {
                foreach (var index in stripes) _blind.Exit(index);
                throw;
            }
        }
        else
        {
            for (var i = 0; i < entered; i++) _blind.Exit(stripes[i]);
            var locked = new SortedSet<int>(stripes);
            var held = 0;
            try
            {
                foreach (var index in locked)
                {
                    await _stripes[index].WaitAsync(cancellationToken).ConfigureAwait(false);
                    held++;
                }
                batch = RentBatch();
                foreach (var (key, value) in pairs.Span) Put(batch, key.Span, value.Span, 0);
                foreach (var index in stripes) _blind.Enter(index);
                try
                {
                    write = Commit(batch, cancellationToken);
                }
                catch
                {
                    foreach (var index in stripes) _blind.Exit(index);
                    throw;
                }
            }
            finally
            {
                foreach (var index in locked)
                {
                    if (held-- == 0) break;
                    _stripes[index].Release();
                }
            }
        }
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            foreach (var index in stripes) _blind.Exit(index);
        }
    }

    private void Put(WriteBatch batch, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiresAtUnixMs)
    {
        byte[]? rented = null;
        var storageKey = key.Length + Partitioner.TokenPrefixLength <= StackKeyLimit
            ? stackalloc byte[StackKeyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(key.Length + Partitioner.TokenPrefixLength));
        var n = Partitioner.WriteStorageKey(storageKey, key);
        batch.Put(storageKey[..n], value, _clock.Now(), expiresAtUnixMs);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }

    private void Tombstone(WriteBatch batch, ReadOnlySpan<byte> key)
    {
        byte[]? rented = null;
        var storageKey = key.Length + Partitioner.TokenPrefixLength <= StackKeyLimit
            ? stackalloc byte[StackKeyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(key.Length + Partitioner.TokenPrefixLength));
        var n = Partitioner.WriteStorageKey(storageKey, key);
        batch.Delete(storageKey[..n], _clock.Now());
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }

    private WriteBatch RentBatch() => _batches.TryDequeue(out var batch) ? batch : new WriteBatch();

    private void ReturnBatch(WriteBatch batch)
    {
        if (batch.ByteSize > 64 * 1024 || _batches.Count > 1024) return; // let big ones go to the GC
        batch.Clear();
        _batches.Enqueue(batch);
    }

    /// <summary>Writes <paramref name="batch"/> and returns it to the pool at once: the engine copies a batch before
    /// its <see cref="Database.WriteAsync"/> returns, so the returned task is the write's own, with nothing to run
    /// after it.</summary>
    private ValueTask Commit(WriteBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            return _db.WriteAsync(batch, cancellationToken);
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    // ---- read-modify-writes (under the key's stripe lock) ----

    /// <summary>Timestamps and hands off a blind write counted on <paramref name="index"/>; one that fails before the
    /// engine has it (a closed database) is not counted any more.</summary>
    private ValueTask WriteCounted(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, int index, CancellationToken cancellationToken)
    {
        try
        {
            var batch = RentBatch();
            Put(batch, key.Span, value.Span, expiresAtUnixMs);
            return Commit(batch, cancellationToken);
        }
        catch
        {
            _blind.Exit(index);
            throw;
        }
    }

    private static int StripeIndex(ReadOnlySpan<byte> key) => (int)(System.IO.Hashing.XxHash3.HashToUInt64(key) % StripeCount);

    /// <summary>Takes the key's stripe lock for a read-modify-write, then waits for the blind writes of the stripe
    /// already handed to the engine, so the read sees them. The caller releases the returned lock.</summary>
    private async ValueTask<SemaphoreSlim> LockStripeAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken)
    {
        var index = StripeIndex(key.Span);
        var stripe = _stripes[index];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _blind.DrainAsync(index).ConfigureAwait(false);
        return stripe;
    }

    public async ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default)
    {
        var stripe = await LockStripeAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Read(key.Span, previousValue);
            var write = options.Condition switch
            {
                SetCondition.IfAbsent => !current.Found,
                SetCondition.IfPresent => current.Found,
                _ => true,
            };
            if (write)
            {
                var expiresAt = options.KeepTtl ? current.ExpiresAtUnixMs : options.ExpiresAtUnixMs;
                var batch = RentBatch();
                Put(batch, key.Span, value.Span, expiresAt);
                await Commit(batch, cancellationToken).ConfigureAwait(false);
            }
            return new SetResult(write, current);
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        var stripe = await LockStripeAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!Read(key.Span, null).Found) return false;
            var batch = RentBatch();
            Tombstone(batch, key.Span);
            await Commit(batch, cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default)
    {
        var stripe = await LockStripeAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Read(key.Span, value);
            if (current.Found)
            {
                var batch = RentBatch();
                Tombstone(batch, key.Span);
                await Commit(batch, cancellationToken).ConfigureAwait(false);
            }
            return current;
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        var stripe = await LockStripeAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            var current = Read(key.Span, buffer);
            if (!current.Found) return current;
            value.Write(buffer.WrittenSpan);
            if (update.Action != ExpiryAction.Keep && update.Allows(current.ExpiresAtUnixMs))
                await RewriteExpiryAsync(key, buffer.WrittenMemory, update, cancellationToken).ConfigureAwait(false);
            return current;
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        var stripe = await LockStripeAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            var current = Read(key.Span, buffer);
            if (!current.Found || update.Action == ExpiryAction.Keep || !update.Allows(current.ExpiresAtUnixMs)) return false;
            if (update.Action == ExpiryAction.Persist && current.ExpiresAtUnixMs == 0) return false;
            await RewriteExpiryAsync(key, buffer.WrittenMemory, update, cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default)
    {
        var stripe = await LockStripeAsync(key, cancellationToken).ConfigureAwait(false);
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            var current = Read(key.Span, buffer);
            var next = new ArrayBufferWriter<byte>();
            if (!update(current.Found, buffer.WrittenSpan, next)) return false;
            var batch = RentBatch();
            Put(batch, key.Span, next.WrittenSpan, current.Found ? current.ExpiresAtUnixMs : 0);
            await Commit(batch, cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    public async ValueTask<RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default)
    {
        // Both keys' stripes, in index order so two renames of the same pair in opposite directions cannot deadlock.
        var a = StripeIndex(source.Span);
        var b = StripeIndex(destination.Span);
        var (first, second) = (_stripes[Math.Min(a, b)], _stripes[Math.Max(a, b)]);
        await first.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!ReferenceEquals(first, second)) await second.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _blind.DrainAsync(a).ConfigureAwait(false);
                await _blind.DrainAsync(b).ConfigureAwait(false);
                var value = new ArrayBufferWriter<byte>();
                var current = Read(source.Span, value);
                if (!current.Found) return RenameOutcome.NoSource;
                if (source.Span.SequenceEqual(destination.Span)) return onlyIfAbsent ? RenameOutcome.DestinationExists : RenameOutcome.Renamed;
                if (onlyIfAbsent && Read(destination.Span, null).Found) return RenameOutcome.DestinationExists;
                var batch = RentBatch();
                Put(batch, destination.Span, value.WrittenSpan, current.ExpiresAtUnixMs);
                Tombstone(batch, source.Span);
                await Commit(batch, cancellationToken).ConfigureAwait(false);
                return RenameOutcome.Renamed;
            }
            finally
            {
                if (!ReferenceEquals(first, second)) second.Release();
            }
        }
        finally
        {
            first.Release();
        }
    }

    public async ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default)
    {
        // Every key's stripe, each once, in index order (as RENAME takes two), so overlapping MSETNXs cannot deadlock.
        var stripes = new SortedSet<int>();
        foreach (var (key, _) in pairs.Span) stripes.Add(StripeIndex(key.Span));
        var held = 0;
        try
        {
            foreach (var index in stripes)
            {
                await _stripes[index].WaitAsync(cancellationToken).ConfigureAwait(false);
                held++;
            }
            foreach (var index in stripes) await _blind.DrainAsync(index).ConfigureAwait(false);
            foreach (var (key, _) in pairs.Span)
            {
                if (Read(key.Span, null).Found) return false;
            }
            var batch = RentBatch();
            foreach (var (key, value) in pairs.Span) Put(batch, key.Span, value.Span, 0);
            await Commit(batch, cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            foreach (var index in stripes)
            {
                if (held-- == 0) break;
                _stripes[index].Release();
            }
        }
    }

    /// <summary>Writes the value again with the new expiry; an expiry not in the future deletes the key (Redis semantics).</summary>
    private ValueTask RewriteExpiryAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, ExpiryUpdate update, CancellationToken cancellationToken)
    {
        var batch = RentBatch();
        if (update.Action == ExpiryAction.Set && update.ExpiresAtUnixMs <= NowUnixMs) Tombstone(batch, key.Span);
        else Put(batch, key.Span, value.Span, update.Action == ExpiryAction.Persist ? 0 : update.ExpiresAtUnixMs);
        return Commit(batch, cancellationToken);
    }

    // ---- walks ----

    public ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default)
    {
        Span<byte> start = stackalloc byte[Partitioner.TokenPrefixLength];
        BinaryPrimitives.WriteUInt64BigEndian(start, ScanCursor.ResumeToken(cursor));
        using var scanner = _db.Scan(cursor == 0 ? [] : start, []);
        var first = true;
        ulong last = 0;
        while (scanner.MoveNext())
        {
            var storageKey = scanner.Key;
            if (storageKey.Length < Partitioner.TokenPrefixLength) continue;
            var token = Partitioner.TokenOfStorageKey(storageKey);
            if (!first && token != last && keys.Count >= count)
            {
                // Stop on a token boundary at an even resume token in (last, token].
                var resume = (last & 1) == 1 ? last + 1 : last + 2;
                if (resume > last && resume <= token) return new(ScanCursor.FromResumeToken(resume));
            }
            keys.Add(Partitioner.UserKeyOfStorageKey(storageKey).ToArray());
            last = token;
            first = false;
        }
        return new(0L);
    }

    public long EstimateKeyCount() => EngineStatistics.EstimateKeys(_db);

    public async ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default)
    {
        long deleted = 0;
        var batch = new WriteBatch();
        using (var scanner = _db.Scan([], []))
        {
            while (scanner.MoveNext())
            {
                batch.Delete(scanner.Key, _clock.Now());
                deleted++;
                if (batch.Count >= 1000)
                {
                    await _db.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                    batch.Clear();
                }
            }
        }
        if (batch.Count > 0) await _db.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        _db.Flush();
        return default;
    }

    public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine()
    {
        var list = EngineStatistics.Describe(_db);
        list.Add(new("hlc_last", _clock.Last.ToString(CultureInfo.InvariantCulture)));
        return list;
    }
}
