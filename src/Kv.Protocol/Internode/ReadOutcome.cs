namespace Kv.Protocol.Internode;

/// <summary>What a replica holds for a key. Wire format: values are on the wire, never renumber.</summary>
public enum ReadOutcome : byte
{
    /// <summary>The replica has no version of the key at all.</summary>
    Absent = 0,

    /// <summary>The newest version is a value.</summary>
    Found = 1,

    /// <summary>The newest version is a tombstone (its timestamp matters for reconciliation).</summary>
    Deleted = 2,
}
