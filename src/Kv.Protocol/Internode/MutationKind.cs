namespace Kv.Protocol.Internode;

/// <summary>What a mutation writes. Wire format: values are on the wire, never renumber.</summary>
public enum MutationKind : byte
{
    Value = 0,
    Tombstone = 1,
}
