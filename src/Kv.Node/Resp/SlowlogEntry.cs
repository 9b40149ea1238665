namespace Kv.Node.Resp;

/// <summary>
/// One entry of the <see cref="Slowlog"/>, as SLOWLOG GET replies it (Redis's six fields, in this order). Immutable:
/// the arguments are copies, already truncated and redacted (see <see cref="Slowlog"/>).
/// </summary>
/// <param name="Id">Unique and increasing for the server's life; SLOWLOG RESET does not restart it.</param>
/// <param name="UnixTimeSeconds">When the entry was logged (the command's end).</param>
/// <param name="DurationMicros">The command's execution time (see docs/protocol.md, SLOWLOG, for what it covers).</param>
/// <param name="Arguments">The command's name and arguments as the client sent them.</param>
/// <param name="ClientAddress">The client's ip:port ("" for a connection without one).</param>
/// <param name="ClientName">The client's CLIENT SETNAME name when logged, "" if none.</param>
public sealed record SlowlogEntry(
    long Id,
    long UnixTimeSeconds,
    long DurationMicros,
    byte[][] Arguments,
    string ClientAddress,
    string ClientName);
