namespace Kv.Gossip.FailureDetection;

/// <summary>
/// One peer's sliding window of heartbeat inter-arrival intervals (in TimeProvider ticks), with running
/// sums so mean and variance are O(1). Not thread-safe: <see cref="PhiAccrualFailureDetector"/> locks it.
/// </summary>
internal sealed class ArrivalWindow
{
    // Intervals live in chunks allocated as the window fills, never copied: a node tracks every peer, and a
    // full window each from the start would be megabytes for nothing, while growing one array by doubling left
    // the old arrays (hundreds of MB across a 1000-node simulation) as garbage for the collector.
    private const int ChunkShift = 5;
    private const int ChunkSize = 1 << ChunkShift;

    private readonly int _size;
    private double[]?[] _chunks;
    private int _count;
    private int _next; // slot of the next interval in a ring of _size slots; the oldest once full
    private double _sum;
    private double _sumOfSquares;

    public ArrivalWindow(int size, double firstEstimate)
    {
        _size = Math.Max(2, size);
        _chunks = new double[]?[Math.Min(2, ((_size - 1) >> ChunkShift) + 1)];
        // Seed with the expected interval and a spread of a quarter of it (as Akka does), so phi is
        // meaningful from the second heartbeat on.
        Add(firstEstimate * 0.75);
        Add(firstEstimate * 1.25);
    }

    public long LastArrival { get; set; } = -1;

    /// <summary>The timestamp after which phi exceeds the threshold if nothing else arrives.</summary>
    public long ConvictAfter { get; set; } = long.MaxValue;

    /// <summary>Set when the detector forgot the peer: a holder of this window must look the peer up again.</summary>
    public bool Removed { get; set; }

    public int Count => _count;

    public double Mean => _sum / _count;

    public double Variance => Math.Max(0.0, (_sumOfSquares / _count) - (Mean * Mean));

    public void Add(double interval)
    {
        ref var slot = ref Slot(_next);
        if (_count == _size)
        {
            var old = slot;
            _sum -= old;
            _sumOfSquares -= old * old;
        }
        else
        {
            _count++;
        }
        slot = interval;
        _sum += interval;
        _sumOfSquares += interval * interval;
        _next = _next + 1 == _size ? 0 : _next + 1;
    }

    private ref double Slot(int index)
    {
        var chunk = index >> ChunkShift;
        if (chunk >= _chunks.Length) Array.Resize(ref _chunks, Math.Min(_chunks.Length * 2, ((_size - 1) >> ChunkShift) + 1));
        var intervals = _chunks[chunk] ??= new double[Math.Min(ChunkSize, _size - (chunk << ChunkShift))];
        return ref intervals[index & (ChunkSize - 1)];
    }
}
