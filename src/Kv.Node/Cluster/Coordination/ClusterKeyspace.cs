using System.Buffers;
using System.Buffers.Binary;
using Kv.Gossip.Ring;
using Kv.Node.Cluster.Hints;
using Kv.Node.Cluster.Replica;
using Kv.Node.Storage;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// The command layer's <see cref="IKeyspace"/> for a cluster node: every command goes through the
/// <see cref="Coordinator"/> to the replicas of its keys, at this view's read and write consistency
/// levels (QUORUM/QUORUM by default; <see cref="WithConsistency"/> gives a connection its own view).
/// </summary>
/// <remarks>
/// Multi-key commands (MGET, MSET, DEL of several keys) run one coordinated request per key, in
/// parallel, so keys owned by different replicas work; they are not atomic across keys.
/// Conditional and returning commands (SET NX/XX/GET/KEEPTTL, SETNX, GETDEL, GETEX, EXPIRE family,
/// PERSIST, DEL's count, INCR and the other read-modify-writes) are a coordinated read followed by a
/// coordinated write: NOT linearizable (concurrent INCRs of one key may lose one).
/// Two clients racing SET NX on different nodes can both succeed (the higher timestamp wins on the
/// replicas). Linearizable conditional updates need a SERIAL (Paxos) level, which does not exist yet.
/// SCAN walks the ring in token order, one token range at a time, reading each page of a range from as
/// many replicas as the read level needs and merging them newest-wins (<see cref="ScanPages"/>): at QUORUM
/// it sees every key acknowledged at QUORUM, as a GET does. It does not repair the replicas it finds stale.
/// Threading: thread-safe; views share the coordinator.
/// </remarks>
public sealed class ClusterKeyspace : IKeyspace
{
    /// <summary>A write short of its consistency level is answered with UNAVAILABLE / TIMEOUT; the connection goes on.</summary>
    public bool WriteFailuresAreReplies => true;

    private readonly Coordinator _coordinator;
    private readonly ILocalReplicaStore _localStore;
    private readonly HintedHandoff? _hints;

    public ClusterKeyspace(Coordinator coordinator, ILocalReplicaStore localStore, HintedHandoff? hints = null,
        ConsistencyLevel readLevel = ConsistencyLevel.Quorum, ConsistencyLevel writeLevel = ConsistencyLevel.Quorum)
    {
        if (readLevel == ConsistencyLevel.Any) throw new ArgumentException("ANY is not a read consistency level", nameof(readLevel));
        _coordinator = coordinator;
        _localStore = localStore;
        _hints = hints;
        ReadLevel = readLevel;
        WriteLevel = writeLevel;
    }

    public ConsistencyLevel ReadLevel { get; }

    public ConsistencyLevel WriteLevel { get; }

    public Coordinator Coordinator => _coordinator;

    /// <summary>INFO's ring section (set by the node that owns the gossiper), or null.</summary>
    public Func<IReadOnlyList<KeyValuePair<string, string>>>? DescribeRing { get; init; }

    /// <summary>A view of the same cluster at other levels (a connection's choice).</summary>
    public ClusterKeyspace WithConsistency(ConsistencyLevel readLevel, ConsistencyLevel writeLevel) =>
        readLevel == ReadLevel && writeLevel == WriteLevel ? this : new ClusterKeyspace(_coordinator, _localStore, _hints, readLevel, writeLevel) { DescribeRing = DescribeRing };

    private long Now => _coordinator.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private async ValueTask<(KeyLookup Lookup, ReplicaCell Cell)> ReadLiveAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken)
    {
        var cell = await _coordinator.ReadAsync(key, ReadLevel, cancellationToken).ConfigureAwait(false);
        return cell.IsLive(Now) ? (new KeyLookup(true, cell.ExpiresAt), cell) : (KeyLookup.Absent, cell);
    }

    private ValueTask PutAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAt, CancellationToken cancellationToken) =>
        _coordinator.WriteBlindAsync(key, MutationKind.Value, value, expiresAt, WriteLevel, cancellationToken);

    private ValueTask TombstoneAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken) =>
        _coordinator.WriteBlindAsync(key, MutationKind.Tombstone, ReadOnlyMemory<byte>.Empty, 0, WriteLevel, cancellationToken);

    public async ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default)
    {
        // The coordinator's read directly, not through ReadLiveAsync: one state machine less on the hottest path.
        var cell = await _coordinator.ReadAsync(key, ReadLevel, cancellationToken).ConfigureAwait(false);
        if (!cell.IsLive(Now)) return KeyLookup.Absent;
        value?.Write(cell.Value.Span);
        return new KeyLookup(true, cell.ExpiresAt);
    }

    public ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default) =>
        PutAsync(key, value, expiresAtUnixMs, cancellationToken);

    public async ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default)
    {
        var (current, cell) = await ReadLiveAsync(key, cancellationToken).ConfigureAwait(false);
        if (current.Found) previousValue?.Write(cell.Value.Span);
        var write = options.Condition switch
        {
            SetCondition.IfAbsent => !current.Found,
            SetCondition.IfPresent => current.Found,
            _ => true,
        };
        if (write) await PutAsync(key, value, options.KeepTtl ? current.ExpiresAtUnixMs : options.ExpiresAtUnixMs, cancellationToken).ConfigureAwait(false);
        return new SetResult(write, current);
    }

    public async ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default)
    {
        var writes = new Task[pairs.Length];
        for (var i = 0; i < writes.Length; i++)
        {
            var (k, v) = pairs.Span[i];
            writes[i] = PutAsync(k, v, 0, cancellationToken).AsTask();
        }
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    public async ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default)
    {
        var reads = new Task<(KeyLookup Lookup, ReplicaCell Cell)>[pairs.Length];
        for (var i = 0; i < reads.Length; i++) reads[i] = ReadLiveAsync(pairs.Span[i].Key, cancellationToken).AsTask();
        await Task.WhenAll(reads).ConfigureAwait(false);
        foreach (var read in reads)
        {
            if (read.Result.Lookup.Found) return false;
        }
        await SetManyAsync(pairs, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default)
    {
        var (current, _) = await ReadLiveAsync(key, cancellationToken).ConfigureAwait(false);
        // Tombstone even when absent here: a replica that was not asked may still hold the key.
        await TombstoneAsync(key, cancellationToken).ConfigureAwait(false);
        return current.Found;
    }

    public async ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default)
    {
        var (current, cell) = await ReadLiveAsync(key, cancellationToken).ConfigureAwait(false);
        if (!current.Found) return current;
        value.Write(cell.Value.Span);
        await TombstoneAsync(key, cancellationToken).ConfigureAwait(false);
        return current;
    }

    public async ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        var (current, cell) = await ReadLiveAsync(key, cancellationToken).ConfigureAwait(false);
        if (!current.Found) return current;
        value.Write(cell.Value.Span);
        if (update.Action != ExpiryAction.Keep && update.Allows(current.ExpiresAtUnixMs)) await ApplyExpiryAsync(key, cell, update, cancellationToken).ConfigureAwait(false);
        return current;
    }

    public async ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default)
    {
        var (current, cell) = await ReadLiveAsync(key, cancellationToken).ConfigureAwait(false);
        var next = new ArrayBufferWriter<byte>();
        if (!update(current.Found, current.Found ? cell.Value.Span : default, next)) return false;
        await PutAsync(key, next.WrittenMemory, current.Found ? current.ExpiresAtUnixMs : 0, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async ValueTask<RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default)
    {
        var (current, cell) = await ReadLiveAsync(source, cancellationToken).ConfigureAwait(false);
        if (!current.Found) return RenameOutcome.NoSource;
        if (source.Span.SequenceEqual(destination.Span)) return onlyIfAbsent ? RenameOutcome.DestinationExists : RenameOutcome.Renamed;
        if (onlyIfAbsent && (await ReadLiveAsync(destination, cancellationToken).ConfigureAwait(false)).Lookup.Found) return RenameOutcome.DestinationExists;
        // The destination first: a failure between the two writes leaves the value under both keys, never under neither.
        await PutAsync(destination, cell.Value, current.ExpiresAtUnixMs, cancellationToken).ConfigureAwait(false);
        await TombstoneAsync(source, cancellationToken).ConfigureAwait(false);
        return RenameOutcome.Renamed;
    }

    public async ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default)
    {
        var (current, cell) = await ReadLiveAsync(key, cancellationToken).ConfigureAwait(false);
        if (!current.Found || update.Action == ExpiryAction.Keep || !update.Allows(current.ExpiresAtUnixMs)) return false;
        if (update.Action == ExpiryAction.Persist && current.ExpiresAtUnixMs == 0) return false;
        await ApplyExpiryAsync(key, cell, update, cancellationToken).ConfigureAwait(false);
        return true;
    }

    // The value is rewritten with a new timestamp and the new expiry; an expiry in the past deletes (as in Redis).
    private async ValueTask ApplyExpiryAsync(ReadOnlyMemory<byte> key, ReplicaCell cell, ExpiryUpdate update, CancellationToken cancellationToken)
    {
        if (update.Action == ExpiryAction.Set && update.ExpiresAtUnixMs <= Now) await TombstoneAsync(key, cancellationToken).ConfigureAwait(false);
        else await PutAsync(key, cell.Value, update.Action == ExpiryAction.Persist ? 0 : update.ExpiresAtUnixMs, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default)
    {
        count = Math.Max(1, count);
        var token = cursor == 0 ? 0UL : ScanCursor.ResumeToken(cursor);
        var now = Now;
        var haveLast = false;
        ulong last = 0;
        var merged = new List<ScanRow>();
        var stale = new List<(int Page, ScanRow Winner)>();
        while (true)
        {
            var placement = _coordinator.Placement;
            var ring = placement.Ring;
            if (ring.TokenCount == 0) throw new UnavailableException(ReadLevel, "scan", 0, ReadLevel.BlockFor(placement.Strategy.ReplicationFactor), 0);
            var rangeIndex = ring.TokenIndexFor(token);
            var rangeEnd = ring.Tokens[rangeIndex];
            if (rangeEnd < token) rangeEnd = ulong.MaxValue; // past the last token: the wrapping range, up to the top of the token space
            var blockFor = ReadLevel.BlockFor(placement.Strategy.ReplicationFactor);
            var replicaCount = placement.ReplicasOfRange(rangeIndex).Length;
            var live = LiveReplicas(placement, rangeIndex, blockFor);

            ReadOnlyMemory<byte> start = TokenKey(token);
            ReadOnlyMemory<byte> end = rangeEnd == ulong.MaxValue ? ReadOnlyMemory<byte>.Empty : TokenKey(rangeEnd + 1);
            while (true)
            {
                var limit = Math.Max(count - keys.Count, 1) + 16;
                merged.Clear();
                // Tombstones too when several replicas answer: a replica's newer tombstone must hide another's older value.
                var pages = await ScanPageAsync(live, blockFor, replicaCount, new RangeScanRequest(start, end, limit, blockFor > 1), cancellationToken).ConfigureAwait(false);
                if (pages.Length == 1)
                {
                    merged.AddRange(pages[0].Rows);
                    start = pages[0].NextStartKey;
                }
                else
                {
                    stale.Clear();
                    start = ScanPages.Merge(pages, merged, stale);
                    if (stale.Count > 0) await RepairStaleAsync(live, stale, now, cancellationToken).ConfigureAwait(false);
                }
                foreach (var row in merged)
                {
                    if (row.Kind == MutationKind.Tombstone || (row.ExpiresAt != 0 && row.ExpiresAt <= now)) continue;
                    var rowToken = Partitioner.TokenOfStorageKey(row.StorageKey.Span);
                    if (haveLast && rowToken != last && keys.Count >= count)
                    {
                        // Resume on an even token past every key returned (see ScanCursor); if that would skip this
                        // row's token, take this token too and stop at the next boundary.
                        var resume = (last & 1) == 1 ? last + 1 : last + 2;
                        if (resume > last && resume <= rowToken) return ScanCursor.FromResumeToken(resume);
                    }
                    keys.Add(Partitioner.UserKeyOfStorageKey(row.StorageKey.Span).ToArray());
                    last = rowToken;
                    haveLast = true;
                }
                if (start.IsEmpty) break;
            }
            if (rangeEnd == ulong.MaxValue) return 0;
            token = rangeEnd + 1;
        }
    }

    /// <summary>
    /// Blocking read repair for a SCAN page, as a GET does it: each replica whose page lacked a key's newest version (or
    /// held an older one) is sent that version before the page is returned, so a key a SCAN showed stays visible to
    /// later reads at the same level. Expired values are not sent (they read as absent everywhere). A replica that cannot
    /// take a repair gets a hint, and the SCAN goes on: unlike a GET it does not fail for it.
    /// </summary>
    private async ValueTask RepairStaleAsync(List<Gossip.Transport.NodeAddress> live, List<(int Page, ScanRow Winner)> stale, long now, CancellationToken cancellationToken)
    {
        var repairs = new List<Task<bool>>(stale.Count);
        foreach (var (page, winner) in stale)
        {
            if (winner.Kind != MutationKind.Tombstone && winner.ExpiresAt != 0 && winner.ExpiresAt <= now) continue;
            var mutation = ScanPages.Cell(winner).ToMutation(winner.StorageKey);
            repairs.Add(_coordinator.RepairForScanAsync(live[page], mutation, cancellationToken));
        }
        await Task.WhenAll(repairs).ConfigureAwait(false);
    }

    /// <summary>The replicas a scan of range <paramref name="rangeIndex"/> may ask, in the order it asks them: this node
    /// first when it is one of them, then the live ones in ring order. The first <paramref name="blockFor"/> are asked;
    /// the rest stand by for one that fails.</summary>
    /// <exception cref="UnavailableException">Fewer replicas are up than the read level needs.</exception>
    private List<Gossip.Transport.NodeAddress> LiveReplicas(ReplicaPlacement placement, int rangeIndex, int blockFor)
    {
        var all = placement.ReplicasOfRange(rangeIndex);
        var live = new List<Gossip.Transport.NodeAddress>(all.Length);
        foreach (var e in all)
        {
            var address = placement.Ring.Endpoint(e);
            if (address == _coordinator.LocalAddress) live.Insert(0, address);
            else if (_coordinator.IsAlive(address)) live.Add(address);
        }
        if (live.Count < blockFor) throw new UnavailableException(ReadLevel, "scan", live.Count, blockFor, all.Length);
        return live;
    }

    /// <summary>
    /// One page of a range from <paramref name="blockFor"/> replicas: the first ones of <paramref name="live"/>, side by
    /// side. A replica that fails to answer (timeout, lost connection, an error) is replaced by the next one standing
    /// by, which takes its place in <paramref name="live"/> for the range's later pages too; once none is left the
    /// scan fails with how many replicas answered out of how many it needs.
    /// </summary>
    private async ValueTask<RangeScanResponse[]> ScanPageAsync(List<Gossip.Transport.NodeAddress> live, int blockFor, int replicaCount, RangeScanRequest request,
                                                            CancellationToken cancellationToken)
    {
        var pending = new Task<RangeScanResponse>[blockFor];
        for (var i = 0; i < blockFor; i++) pending[i] = _coordinator.ScanReplicaAsync(live[i], request, cancellationToken).AsTask();
        var standby = blockFor;
        var pages = new RangeScanResponse[blockFor];
        for (var i = 0; i < blockFor; i++)
        {
            while (true)
            {
                try
                {
                    pages[i] = await pending[i].ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (Coordinator.IsReplicaFailure(e) && !cancellationToken.IsCancellationRequested)
                {
                    if (standby == live.Count)
                    {
                        var answered = pending.Count(t => t.IsCompletedSuccessfully);
                        foreach (var t in pending) _ = t.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted); // observed: nobody awaits them now
                        throw new ReplicaTimeoutException(ReadLevel, "scan", answered, blockFor, replicaCount, $"{live[i]} did not answer ({e.Message}) and no other replica is up");
                    }
                    (live[i], live[standby]) = (live[standby], live[i]);
                    standby++;
                    pending[i] = _coordinator.ScanReplicaAsync(live[i], request, cancellationToken).AsTask();
                }
            }
        }
        return pages;
    }

    private static byte[] TokenKey(ulong token)
    {
        var key = new byte[Partitioner.TokenPrefixLength];
        BinaryPrimitives.WriteUInt64BigEndian(key, token);
        return key;
    }

    /// <summary>DBSIZE: this node's stored keys scaled by nodes / replication factor: an estimate (tombstones and skew included).</summary>
    public long EstimateKeyCount()
    {
        var placement = _coordinator.Placement;
        var width = Math.Max(1, placement.ReplicationWidth);
        return _localStore.EstimateKeyCount() * Math.Max(1, placement.Ring.EndpointCount) / width;
    }

    /// <summary>FLUSHALL: walks the cluster and deletes every key at the write level; returns how many.</summary>
    public async ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default)
    {
        long deleted = 0;
        long cursor = 0;
        var keys = new List<byte[]>();
        do
        {
            keys.Clear();
            cursor = await ScanAsync(cursor, 256, keys, cancellationToken).ConfigureAwait(false);
            var deletes = new Task[keys.Count];
            for (var i = 0; i < keys.Count; i++) deletes[i] = TombstoneAsync(keys[i], cancellationToken).AsTask();
            await Task.WhenAll(deletes).ConfigureAwait(false);
            deleted += keys.Count;
        }
        while (cursor != 0);
        return deleted;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => _localStore.FlushAsync(cancellationToken);

    /// <summary>This node's coordinator figures, then its local engine's (the same fields as a single node's).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        List<KeyValuePair<string, string>> list =
        [
            new("cluster_coordinator", "yes"),
            new("read_consistency", ReadLevel.Name()),
            new("write_consistency", WriteLevel.Name()),
            new("read_repairs", _coordinator.ReadRepairs.ToString(inv)),
            new("hints_stored", (_hints?.HintsStored ?? 0).ToString(inv)),
            new("hints_delivered", (_hints?.HintsDelivered ?? 0).ToString(inv)),
        ];
        list.AddRange(_localStore.DescribeEngine());
        return list;
    }
}
