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
/// striped async locks, chosen by the key's hash, from their read until their write is handed to the engine,
/// so they are atomic against each other on this node; the next one of the same key reads that write even
/// before its group commit applied it (<see cref="PendingWrites"/>), and a command replies only once every
/// write it wrote or read is durable. RENAME and MSETNX wait for those writes instead and keep their locks
/// until their own write is applied. Blind writes (plain SET, MSET) take no lock while none is
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
    private readonly PendingWrites _pending = new(StripeCount);
    private readonly ConcurrentQueue<WriteBatch> _batches = new();

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_discard;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_engineVersion;

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
        return ReadVersion(key, destination, out _, out var expiresAt) == ReadStatus.Found ? new KeyLookup(true, expiresAt) : KeyLookup.Absent;
    }

    /// <summary>The engine's newest version of <paramref name="key"/>: its status, timestamp (also of a deletion or an expired
    /// value; 0 if none) and expiry; a live value is appended to <paramref name="destination"/>.</summary>
    private ReadStatus ReadVersion(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, out long timestamp, out long expiresAt)
    {
        byte[]? rented = null;
        var storageKey = key.Length + Partitioner.TokenPrefixLength <= StackKeyLimit
            ? stackalloc byte[StackKeyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(key.Length + Partitioner.TokenPrefixLength));
        try
        {
            var n = Partitioner.WriteStorageKey(storageKey, key);
            _db.TryGet(storageKey[..n], destination, out var status, out timestamp, out expiresAt);
            return status;
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

    private long Put(WriteBatch batch, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiresAtUnixMs)
    {
        byte[]? rented = null;
        var storageKey = key.Length + Partitioner.TokenPrefixLength <= StackKeyLimit
            ? stackalloc byte[StackKeyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(key.Length + Partitioner.TokenPrefixLength));
        var n = Partitioner.WriteStorageKey(storageKey, key);
        var timestamp = _clock.Now();
        batch.Put(storageKey[..n], value, timestamp, expiresAtUnixMs);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return timestamp;
    }

    private long Tombstone(WriteBatch batch, ReadOnlySpan<byte> key)
    {
        byte[]? rented = null;
        var storageKey = key.Length + Partitioner.TokenPrefixLength <= StackKeyLimit
            ? stackalloc byte[StackKeyLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(key.Length + Partitioner.TokenPrefixLength));
        var n = Partitioner.WriteStorageKey(storageKey, key);
        var timestamp = _clock.Now();
        batch.Delete(storageKey[..n], timestamp);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return timestamp;
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

    /// <summary>Takes stripe <paramref name="index"/>'s lock for a read-modify-write, then waits for the blind writes of the
    /// stripe already handed to the engine, so the read sees them. The caller releases the lock.</summary>
    private async ValueTask LockStripeAsync(int index, CancellationToken cancellationToken)
    {
        await _stripes[index].WaitAsync(cancellationToken).ConfigureAwait(false);
        await _blind.DrainAsync(index).ConfigureAwait(false);
    }

    /// <summary>
    /// A read-modify-write's read, under the stripe's lock: the newest version of the key, whether the engine has it
    /// or an earlier read-modify-write handed it off and it is not applied yet (<see cref="PendingWrites"/>). When the
    /// answer is such a pending version, <paramref name="dependency"/> is set to its write, which the command must
    /// await before it replies (<see cref="SettleAsync"/>).
    /// </summary>
    private KeyLookup ReadLocked(int index, ReadOnlySpan<byte> key, IBufferWriter<byte>? value, ref Task? dependency)
    {
        if (_pending.Newest(index, key) is not { } pending) return Read(key, value);
        var engine = t_engineVersion ??= new ArrayBufferWriter<byte>(256);
        engine.ResetWrittenCount();
        var status = ReadVersion(key, engine, out var timestamp, out var expiresAt);
        if (timestamp > pending.Timestamp)
        {
            // A newer write reached the engine first: a blind SET after the pending one (LockStripeAsync drained it).
            if (status != ReadStatus.Found) return KeyLookup.Absent;
            value?.Write(engine.WrittenSpan);
            return new KeyLookup(true, expiresAt);
        }
        dependency = pending.Applied;
        if (pending.Value is null || (pending.ExpiresAtUnixMs != 0 && pending.ExpiresAtUnixMs <= NowUnixMs)) return KeyLookup.Absent;
        value?.Write(pending.Value);
        return new KeyLookup(true, pending.ExpiresAtUnixMs);
    }

    /// <summary>
    /// A read-modify-write's write of one key (a value, or a deletion when <paramref name="value"/> is null), handed
    /// to the engine under the stripe's lock. A small one still in flight is recorded as pending
    /// (<see cref="PendingWrites"/>) and <paramref name="tracked"/> is true: the caller may release the lock at once.
    /// Otherwise the caller awaits the write before releasing it.
    /// </summary>
    private Task WriteLocked(int index, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool delete, long expiresAtUnixMs, out bool tracked)
    {
        var batch = RentBatch();
        var timestamp = delete ? Tombstone(batch, key) : Put(batch, key, value, expiresAtUnixMs);
        // Not cancellable: once handed off it may be applied whatever the caller does, and the pending record must
        // stay until it is (a cancelled task would read as "applied" while the write is still on its way).
        var write = Commit(batch, CancellationToken.None).AsTask();
        tracked = write.IsCompleted || value.Length <= PendingWrites.MaxValueLength;
        if (tracked && !write.IsCompleted)
            _pending.Add(index, new PendingWrite(key.ToArray(), delete ? null : value.ToArray(), delete ? 0 : expiresAtUnixMs, timestamp, write));
        return write;
    }

    /// <summary>After the lock is released: the command's own write, then the pending write its read depended on.</summary>
    private static ValueTask SettleAsync(Task? write, Task? dependency)
    {
        if ((write is null || write.IsCompletedSuccessfully) && (dependency is null || dependency.IsCompletedSuccessfully)) return default;
        return AwaitBoth(write, dependency);

        static async ValueTask AwaitBoth(Task? write, Task? dependency)
        {
            if (write is not null) await write.ConfigureAwait(false);
            if (dependency is not null) await dependency.ConfigureAwait(false);
        }
    }

    public async ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        await LockStripeAsync(index, cancellationToken).ConfigureAwait(false);
        Task? write = null, dependency = null;
        SetResult result;
        try
        {
            var current = ReadLocked(index, key.Span, previousValue, ref dependency);
            var apply = options.Condition switch
            {
                SetCondition.IfAbsent => !current.Found,
                SetCondition.IfPresent => current.Found,
                _ => true,
            };
            if (apply)
            {
                var expiresAt = options.KeepTtl ? current.ExpiresAtUnixMs : options.ExpiresAtUnixMs;
                write = WriteLocked(index, key.Span, value.Span, delete: false, expiresAt, out var tracked);
                if (!tracked) await write.ConfigureAwait(false);
            }
            result = new SetResult(apply, current);
        }
        finally
        {
            _stripes[index].Release();
        }
        await SettleAsync(write, dependency).ConfigureAwait(false);
        return result;
    }

    public async ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        await LockStripeAsync(index, cancellationToken).ConfigureAwait(false);
        Task? write = null, dependency = null;
        try
        {
            if (ReadLocked(index, key.Span, null, ref dependency).Found) write = WriteLocked(index, key.Span, [], delete: true, 0, out _);
        }
        finally
        {
            _stripes[index].Release();
        }
        await SettleAsync(write, dependency).ConfigureAwait(false);
        return write is not null;
    }

    public async ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        await LockStripeAsync(index, cancellationToken).ConfigureAwait(false);
        Task? write = null, dependency = null;
        KeyLookup current;
        try
        {
            current = ReadLocked(index, key.Span, value, ref dependency);
            if (current.Found) write = WriteLocked(index, key.Span, [], delete: true, 0, out _);
        }
        finally
        {
            _stripes[index].Release();
        }
        await SettleAsync(write, dependency).ConfigureAwait(false);
        return current;
    }

    public async ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        await LockStripeAsync(index, cancellationToken).ConfigureAwait(false);
        Task? write = null, dependency = null;
        KeyLookup current;
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            current = ReadLocked(index, key.Span, buffer, ref dependency);
            if (current.Found)
            {
                value.Write(buffer.WrittenSpan);
                if (update.Action != ExpiryAction.Keep && update.Allows(current.ExpiresAtUnixMs))
                {
                    write = RewriteExpiry(index, key.Span, buffer.WrittenSpan, update, out var tracked);
                    if (!tracked) await write.ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _stripes[index].Release();
        }
        await SettleAsync(write, dependency).ConfigureAwait(false);
        return current;
    }

    public async ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        await LockStripeAsync(index, cancellationToken).ConfigureAwait(false);
        Task? write = null, dependency = null;
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            var current = ReadLocked(index, key.Span, buffer, ref dependency);
            if (current.Found && update.Action != ExpiryAction.Keep && update.Allows(current.ExpiresAtUnixMs) &&
                !(update.Action == ExpiryAction.Persist && current.ExpiresAtUnixMs == 0))
            {
                write = RewriteExpiry(index, key.Span, buffer.WrittenSpan, update, out var tracked);
                if (!tracked) await write.ConfigureAwait(false);
            }
        }
        finally
        {
            _stripes[index].Release();
        }
        await SettleAsync(write, dependency).ConfigureAwait(false);
        return write is not null;
    }

    public async ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default)
    {
        var (written, durable) = await UpdateValueHandedOffAsync(key, update, cancellationToken).ConfigureAwait(false);
        await durable.ConfigureAwait(false);
        return written;
    }

    public async ValueTask<HandedOff<bool>> UpdateValueHandedOffAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default)
    {
        var index = StripeIndex(key.Span);
        await LockStripeAsync(index, cancellationToken).ConfigureAwait(false);
        Task? write = null, dependency = null;
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            var current = ReadLocked(index, key.Span, buffer, ref dependency);
            var next = new ArrayBufferWriter<byte>();
            if (update(current.Found, buffer.WrittenSpan, next))
            {
                write = WriteLocked(index, key.Span, next.WrittenSpan, delete: false, current.Found ? current.ExpiresAtUnixMs : 0, out var tracked);
                if (!tracked) await write.ConfigureAwait(false);
            }
        }
        finally
        {
            _stripes[index].Release();
        }
        return new HandedOff<bool>(write is not null, SettleAsync(write, dependency));
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
                // A command over several keys waits for whatever is in flight on its stripes and then reads the engine,
                // holding the locks until its own write is applied.
                await _blind.DrainAsync(a).ConfigureAwait(false);
                await _blind.DrainAsync(b).ConfigureAwait(false);
                await _pending.DrainAsync(a).ConfigureAwait(false);
                await _pending.DrainAsync(b).ConfigureAwait(false);
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
            foreach (var index in stripes)
            {
                await _blind.DrainAsync(index).ConfigureAwait(false);
                await _pending.DrainAsync(index).ConfigureAwait(false);
            }
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

    /// <summary>Writes the value again with the new expiry; an expiry not in the future deletes the key (Redis semantics).
    /// As <see cref="WriteLocked"/>.</summary>
    private Task RewriteExpiry(int index, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ExpiryUpdate update, out bool tracked)
    {
        if (update.Action == ExpiryAction.Set && update.ExpiresAtUnixMs <= NowUnixMs) return WriteLocked(index, key, [], delete: true, 0, out tracked);
        return WriteLocked(index, key, value, delete: false, update.Action == ExpiryAction.Persist ? 0 : update.ExpiresAtUnixMs, out tracked);
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

    /// <summary>From the engine's counts of values with an expiry and their mean expiry (memtables and table properties),
    /// as rough as DBSIZE's: overwritten versions and expired values not yet compacted away count, and the mean remaining
    /// time to live is the mean expiry minus now, so expired values pull it down (0 at the least).</summary>
    public KeyspaceEstimate EstimateKeyspace()
    {
        var stats = _db.GetStats();
        var expiring = Math.Min(stats.EstimatedExpiringEntries, stats.EstimatedEntries);
        var ttl = expiring == 0 ? 0 : Math.Max(0, stats.EstimatedMeanExpiresAtUnixMs - NowUnixMs);
        return new KeyspaceEstimate(stats.EstimatedEntries, expiring, ttl);
    }

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
