namespace Kv.Engine;

/// <summary>
/// A cursor over internal entries (see <see cref="Format.InternalKey"/>) in internal-key order:
/// memtables, SSTable blocks, whole tables and merges of them all implement it.
/// </summary>
/// <remarks>
/// Not thread-safe. <see cref="Key"/> and <see cref="Value"/> are valid only while the iterator is
/// <see cref="Valid"/> and until the next positioning call. A corrupt block surfaces as a
/// <see cref="CorruptionException"/> from the positioning call that met it.
/// </remarks>
public interface IInternalIterator : IDisposable
{
    bool Valid { get; }
    void SeekToFirst();

    /// <summary>Positions at the first entry whose internal key is &gt;= <paramref name="internalKey"/>.</summary>
    void Seek(ReadOnlySpan<byte> internalKey);

    void Next();

    /// <summary>The internal key: user key and trailer.</summary>
    ReadOnlySpan<byte> Key { get; }

    /// <summary>The encoded entry value (see <see cref="Format.EntryValue"/>).</summary>
    ReadOnlySpan<byte> Value { get; }
}
