namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// Counts the outcome of one write's replicas and completes when enough acknowledged (success) or when
/// every replica has an outcome without that (failure, reported as how many acknowledged).
/// </summary>
/// <remarks>Threading: outcomes arrive from any thread; one lock guards the counters; the task completes once.</remarks>
internal sealed class WriteTracker(int blockFor, int replicas, bool hintsCount, bool runContinuationsAsynchronously = true)
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource<bool> _done =
        new(runContinuationsAsynchronously ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);
    private int _acks;
    private int _hinted;
    private int _resolved;

    public Task<bool> Completion => _done.Task;

    public int Acks
    {
        get
        {
            lock (_lock) return _acks;
        }
    }

    public int Hinted
    {
        get
        {
            lock (_lock) return _hinted;
        }
    }

    public void Acknowledged() => Resolve(ack: true, hinted: false);

    public void HintStored() => Resolve(ack: false, hinted: true);

    public void Failed() => Resolve(ack: false, hinted: false);

    private void Resolve(bool ack, bool hinted)
    {
        bool? outcome = null;
        lock (_lock)
        {
            if (ack) _acks++;
            if (hinted) _hinted++;
            _resolved++;
            if (_acks + (hintsCount ? _hinted : 0) >= blockFor) outcome = true;
            else if (_resolved == replicas) outcome = false;
        }
        if (outcome is { } o) _done.TrySetResult(o);
    }
}
