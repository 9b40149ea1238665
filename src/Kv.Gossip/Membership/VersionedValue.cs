namespace Kv.Gossip.Membership;

/// <summary>
/// One application state value and the version it was set at. Versions come from the owning node's
/// single counter (shared with its heartbeat), so "newer" is a plain comparison within one generation.
/// </summary>
public readonly record struct VersionedValue(string Value, long Version);
