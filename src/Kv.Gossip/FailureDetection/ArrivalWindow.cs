namespace Kv.Gossip.FailureDetection;

/// <summary>
/// One peer's sliding window of heartbeat inter-arrival intervals (in TimeProvider ticks), with running
/// sums so mean and variance are O(1). Not thread-safe: <see cref="PhiAccrualFailureDetector"/> locks it.
/// </summary>
internal sealed class ArrivalWindow
{
    private readonly int _size;
    private double[] _intervals;
    private int _count;
    private int _next;
    private double _sum;
    private double _sumOfSquares;

    public ArrivalWindow(int size, double firstEstimate)
    {
        _size = Math.Max(2, size);
        // Grown on demand up to the window size: a node tracks every peer, and 1000 peers x a full
        // window each from the start would be megabytes for nothing.
        _intervals = new double[Math.Min(_size, 16)];
        // Seed with the expected interval and a spread of a quarter of it (as Akka does), so phi is
        // meaningful from the second heartbeat on.
        Add(firstEstimate * 0.75);
        Add(firstEstimate * 1.25);
    }

    public long LastArrival { get; set; } = -1;

    /// <summary>The timestamp after which phi exceeds the threshold if nothing else arrives.</summary>
    public long ConvictAfter { get; set; } = long.MaxValue;

    public int Count => _count;

    public double Mean => _sum / _count;

    public double Variance => Math.Max(0.0, (_sumOfSquares / _count) - (Mean * Mean));

    public void Add(double interval)
    {
        if (_count == _intervals.Length && _count < _size)
        {
            // Still growing: the ring is full and in order from _next, so unroll it into a bigger array.
            var grown = new double[Math.Min(_size, _intervals.Length * 2)];
            _intervals.AsSpan(_next).CopyTo(grown);
            _intervals.AsSpan(0, _next).CopyTo(grown.AsSpan(_intervals.Length - _next));
            _next = _count;
            _intervals = grown;
        }
        if (_count == _intervals.Length)
        {
            var old = _intervals[_next];
            _sum -= old;
            _sumOfSquares -= old * old;
        }
        else
        {
            _count++;
        }
        _intervals[_next] = interval;
        _sum += interval;
        _sumOfSquares += interval * interval;
        _next = (_next + 1) % _intervals.Length;
    }
}
