namespace Kv.Engine;

/// <summary>Options of <see cref="Database.Scan"/>.</summary>
public sealed class ScanOptions
{
    /// <summary>Yield the winning version of every key even when it is a tombstone or an expired value
    /// (anti-entropy compares raw versions). Default false: such keys are skipped.</summary>
    public bool IncludeTombstones { get; set; }
}
