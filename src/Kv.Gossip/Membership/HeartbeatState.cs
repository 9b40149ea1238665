namespace Kv.Gossip.Membership;

/// <summary>
/// A node's heartbeat: the generation (the node's start time in Unix milliseconds: a restart gets a larger
/// one and supersedes everything gossiped about the previous run) and the version its counter had when it
/// last beat. Immutable.
/// </summary>
public sealed record HeartbeatState(long Generation, long Version);
