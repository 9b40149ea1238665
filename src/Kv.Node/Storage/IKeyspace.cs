using System.Buffers;

namespace Kv.Node.Storage;

/// <summary>
/// The seam between the command layer and where keys live. The single-node server backs it with the
/// local engine (<see cref="EngineKeyspace"/>); the cluster coordinator backs it with replicas.
/// </summary>
/// <remarks>
/// Keys are user keys (no token prefix: placing them is the implementation's business). Values are
/// strings. Expiry is an absolute unix time in milliseconds, 0 meaning none.
/// Threading: implementations are thread-safe; any number of connections call concurrently.
/// Memory: key and value memory passed in must stay valid until the returned task completes; value
/// destinations are written before the task completes and belong to the caller.
/// Durability: a write's task completes only once the write is durable (the engine's group commit),
/// so a caller may issue several blind writes and await them together to share one fsync.
/// Atomicity: the read-modify-write operations (conditional set, get-and-delete, get-and-expire,
/// expiry updates, delete with existence) are atomic per key against each other.
/// </remarks>
public interface IKeyspace
{
    /// <summary>Reads a key; copies its value into <paramref name="value"/> unless that is null (metadata only).</summary>
    ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default);

    /// <summary>Blind write (plain SET): replaces the value and its expiry.</summary>
    ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default);

    /// <summary>Conditional/returning write (SET with NX, XX, KEEPTTL or GET; SETNX). Copies the previous value into <paramref name="previousValue"/> when given.</summary>
    ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default);

    /// <summary>Blind writes of several keys (MSET), durable together.</summary>
    ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default);

    /// <summary>
    /// MSETNX: writes every pair (without expiry) only when none of the keys exists; returns whether it wrote. One node
    /// checks and writes atomically, as one durable batch under every key's lock; a cluster reads each key at the read
    /// level, then writes them all at the write level (not atomic: docs/cluster.md).
    /// </summary>
    ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default);

    /// <summary>Deletes a key (a tombstone); returns whether it existed.</summary>
    ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default);

    /// <summary>GETDEL: reads and deletes atomically.</summary>
    ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default);

    /// <summary>GETEX: reads and changes the expiry atomically (the value is rewritten with the new expiry).</summary>
    ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default);

    /// <summary>
    /// INCR, APPEND and the like: replaces the value of <paramref name="key"/> by what <paramref name="update"/> makes
    /// of it, keeping the key's expiry (a new key gets none). One node does the read and the write atomically against
    /// other read-modify-writes of the key; a cluster reads at the read level and writes at the write level, which is
    /// not linearizable (docs/cluster.md). Returns false, having written nothing, when <paramref name="update"/> declines.
    /// </summary>
    ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="UpdateValueAsync"/> that completes as soon as its outcome is known and its write handed off, with
    /// <see cref="HandedOff{T}.Durable"/> completing once the write, and any write not yet durable that it read, is
    /// durable (or failing). The connection then writes the reply at once and sends it only after that
    /// (<see cref="Resp.CommandContext.Defer"/>), so one connection's pipelined INCRs share group commits as its SETs
    /// do. Only for stores whose write failures are not replies (<see cref="WriteFailuresAreReplies"/> false). By
    /// default the whole <see cref="UpdateValueAsync"/>, durable when it completes.
    /// </summary>
    async ValueTask<HandedOff<bool>> UpdateValueHandedOffAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default) =>
        new(await UpdateValueAsync(key, update, cancellationToken).ConfigureAwait(false), default);

    /// <summary>
    /// RENAME / RENAMENX: moves the value of <paramref name="source"/>, with its expiry, to <paramref name="destination"/>
    /// (replacing it, or, with <paramref name="onlyIfAbsent"/>, only when it does not exist) and deletes the source.
    /// One node does it as one atomic, durable batch; a cluster writes the destination, then deletes the source (not
    /// atomic: a failure between leaves both, never neither).
    /// </summary>
    ValueTask<RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default);

    /// <summary>EXPIRE family and PERSIST: returns whether the expiry changed (false: key absent or condition not met).</summary>
    ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default);

    /// <summary>
    /// One page of a walk over all keys in storage order (token order, see <see cref="ScanCursor"/>).
    /// Appends about <paramref name="count"/> user keys to <paramref name="keys"/> (always whole tokens);
    /// returns the next cursor, 0 when the walk is complete.
    /// </summary>
    ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default);

    /// <summary>An estimate of the number of live keys (DBSIZE), cheap to compute.</summary>
    long EstimateKeyCount();

    /// <summary>INFO keyspace's line: <see cref="EstimateKeyCount"/>, and, when this keyspace can tell, an estimate of
    /// the keys with an expiry and their mean remaining time to live. By default the count alone.</summary>
    KeyspaceEstimate EstimateKeyspace() => new(EstimateKeyCount(), null, 0);

    /// <summary>FLUSHALL: deletes every key; returns how many were deleted.</summary>
    ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default);

    /// <summary>Makes everything written so far durable and persisted beyond the log (SAVE-like); used at shutdown.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Name/value pairs for INFO's engine section.</summary>
    IReadOnlyList<KeyValuePair<string, string>> DescribeEngine();

    /// <summary>
    /// True when a blind write can fail as an ordinary outcome the client must see as an error reply (a cluster:
    /// too few replicas answered), false when a failure means the store is broken (a local disk error).
    /// It decides how <see cref="Resp.CommandContext.DeferOk"/> replies to pipelined writes.
    /// </summary>
    bool WriteFailuresAreReplies => false;
}

/// <summary>Computes a key's new value from its current one (<paramref name="found"/> false: the key is absent or
/// expired, <paramref name="current"/> empty) into <paramref name="next"/>; returns false to leave the key as it is.</summary>
public delegate bool ValueUpdate(bool found, ReadOnlySpan<byte> current, IBufferWriter<byte> next);

/// <summary>What INFO keyspace prints: <paramref name="Keys"/> (DBSIZE's estimate), <paramref name="Expiring"/> keys with an
/// expiry (null: not known here, and then neither is <paramref name="AverageTtlMs"/>), their mean remaining time to live.</summary>
public readonly record struct KeyspaceEstimate(long Keys, long? Expiring, long AverageTtlMs);

/// <summary>An outcome known before it is durable, and the task that completes when it is (awaited once).</summary>
public readonly record struct HandedOff<T>(T Result, ValueTask Durable);

/// <summary>What <see cref="IKeyspace.RenameAsync"/> did.</summary>
public enum RenameOutcome
{
    Renamed,
    /// <summary>The source does not exist (or has expired): nothing changed.</summary>
    NoSource,
    /// <summary>Only-if-absent and the destination exists: nothing changed.</summary>
    DestinationExists,
}
