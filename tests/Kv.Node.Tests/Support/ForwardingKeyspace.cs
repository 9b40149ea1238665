using System.Buffers;
using Kv.Node.Storage;

namespace Kv.Node.Tests.Support;

/// <summary>
/// An <see cref="IKeyspace"/> that passes every call to <see cref="Inner"/>: test doubles derive from it and
/// override only the calls they make fail or slow down. Thread-safe when the inner keyspace is.
/// </summary>
public abstract class ForwardingKeyspace(IKeyspace inner) : IKeyspace
{
    protected IKeyspace Inner { get; } = inner;

    public virtual bool WriteFailuresAreReplies => Inner.WriteFailuresAreReplies;

    public virtual ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default) => Inner.GetAsync(key, value, cancellationToken);
    public virtual ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default) => Inner.SetAsync(key, value, expiresAtUnixMs, cancellationToken);
    public virtual ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default) => Inner.SetAsync(key, value, options, previousValue, cancellationToken);
    public virtual ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => Inner.SetManyAsync(pairs, cancellationToken);
    public virtual ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default) => Inner.DeleteAsync(key, cancellationToken);
    public virtual ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default) => Inner.GetAndDeleteAsync(key, value, cancellationToken);
    public virtual ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default) => Inner.GetAndUpdateExpiryAsync(key, value, update, cancellationToken);
    public virtual ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default) => Inner.UpdateValueAsync(key, update, cancellationToken);
    public virtual ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => Inner.SetManyIfNoneExistAsync(pairs, cancellationToken);
    public virtual ValueTask<RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default) => Inner.RenameAsync(source, destination, onlyIfAbsent, cancellationToken);
    public virtual ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default) => Inner.UpdateExpiryAsync(key, update, cancellationToken);
    public virtual ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default) => Inner.ScanAsync(cursor, count, keys, cancellationToken);
    public virtual long EstimateKeyCount() => Inner.EstimateKeyCount();
    public virtual ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default) => Inner.DeleteAllAsync(cancellationToken);
    public virtual ValueTask FlushAsync(CancellationToken cancellationToken = default) => Inner.FlushAsync(cancellationToken);
    public virtual IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => Inner.DescribeEngine();
}
