namespace Kv.Engine;

/// <summary>What a point read found.</summary>
public enum ReadStatus
{
    /// <summary>No version of the key is stored, or its newest version has expired.</summary>
    Absent,

    /// <summary>The newest version is a value.</summary>
    Found,

    /// <summary>The newest version is a tombstone; <see cref="ReadResult.Timestamp"/> says when it was deleted.</summary>
    Deleted,
}
