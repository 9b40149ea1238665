namespace Kv.Engine;

/// <summary>The outcome of <see cref="Database.Get"/>: the winning version of a key.</summary>
public readonly struct ReadResult
{
    public ReadResult(ReadStatus status, long timestamp, long expiresAtUnixMs, byte[]? value)
    {
        Status = status;
        Timestamp = timestamp;
        ExpiresAtUnixMs = expiresAtUnixMs;
        Value = value;
    }

    public static ReadResult Absent => default;

    public ReadStatus Status { get; }

    /// <summary>Timestamp of the winning version (of the tombstone when <see cref="ReadStatus.Deleted"/>); 0 when absent.</summary>
    public long Timestamp { get; }

    /// <summary>Unix milliseconds after which the value reads as absent; 0 = never.</summary>
    public long ExpiresAtUnixMs { get; }

    /// <summary>The value bytes when <see cref="ReadStatus.Found"/>, otherwise null.</summary>
    public byte[]? Value { get; }
}
