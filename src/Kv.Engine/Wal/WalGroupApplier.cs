namespace Kv.Engine.Wal;

/// <summary>
/// Called by the leader of a durable group with the payloads of the group's asynchronous appenders, in append
/// order, after the group's sync and before any of those appenders resumes (see <see cref="WalWriter.GroupApplier"/>).
/// </summary>
/// <param name="payloads">The payloads back to back.</param>
/// <param name="ends">Where each payload ends in <paramref name="payloads"/>.</param>
public delegate void WalGroupApplier(ReadOnlySpan<byte> payloads, ReadOnlySpan<int> ends);
