namespace Kv.Node.Resp;

/// <summary>Counters for INFO stats. Thread-safe: every update is an interlocked increment.</summary>
public sealed class ServerStats
{
    private long _connectionsReceived;
    private long _rejectedConnections;
    private long _commandsProcessed;
    private long _keyspaceHits;
    private long _keyspaceMisses;
    private long _protocolErrors;
    private long _outputLimitDisconnects;
    private long _timeoutDisconnects;

    public long ConnectionsReceived => Volatile.Read(ref _connectionsReceived);
    public long RejectedConnections => Volatile.Read(ref _rejectedConnections);
    public long CommandsProcessed => Volatile.Read(ref _commandsProcessed);
    public long KeyspaceHits => Volatile.Read(ref _keyspaceHits);
    public long KeyspaceMisses => Volatile.Read(ref _keyspaceMisses);
    public long ProtocolErrors => Volatile.Read(ref _protocolErrors);
    public long OutputLimitDisconnects => Volatile.Read(ref _outputLimitDisconnects);
    public long TimeoutDisconnects => Volatile.Read(ref _timeoutDisconnects);

    public void CountConnection() => Interlocked.Increment(ref _connectionsReceived);
    public void CountRejectedConnection() => Interlocked.Increment(ref _rejectedConnections);
    public void CountCommand() => Interlocked.Increment(ref _commandsProcessed);
    public void CountHit() => Interlocked.Increment(ref _keyspaceHits);
    public void CountMiss() => Interlocked.Increment(ref _keyspaceMisses);
    public void CountProtocolError() => Interlocked.Increment(ref _protocolErrors);
    public void CountOutputLimitDisconnect() => Interlocked.Increment(ref _outputLimitDisconnects);
    public void CountTimeoutDisconnect() => Interlocked.Increment(ref _timeoutDisconnects);

    /// <summary>CONFIG RESETSTAT: every counter back to 0 (a count racing with it may survive or be dropped).</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _connectionsReceived, 0);
        Interlocked.Exchange(ref _rejectedConnections, 0);
        Interlocked.Exchange(ref _commandsProcessed, 0);
        Interlocked.Exchange(ref _keyspaceHits, 0);
        Interlocked.Exchange(ref _keyspaceMisses, 0);
        Interlocked.Exchange(ref _protocolErrors, 0);
        Interlocked.Exchange(ref _outputLimitDisconnects, 0);
        Interlocked.Exchange(ref _timeoutDisconnects, 0);
    }
}
