using Kv.Gossip.Transport;

namespace Kv.Gossip.FailureDetection;

/// <summary>
/// The phi-accrual failure detector (Hayashibara et al., 2004) with one <see cref="ArrivalWindow"/> per peer.
/// Instead of a yes/no timeout it outputs phi = -log10(P(a heartbeat comes later than now)), assuming
/// inter-arrival times are normally distributed with the window's mean (plus the acceptable pause) and
/// standard deviation (at least the minimum). phi = 8 means "this silence would happen by chance once in 10^8".
/// </summary>
/// <remarks>
/// Threading: thread-safe; one lock guards the map of windows and the windows. Calls are short and allocation-free
/// except the first report from a new peer.
/// Bound used by tests: with mean μ, deviation σ and pause p, phi crosses threshold φ after a silence of
/// μ + p + σ·z, where z solves -log10(1 - Φ(z)) = φ (z ≈ 5.61 for φ = 8); see <see cref="SilenceBeforeConviction"/>.
/// </remarks>
public sealed class PhiAccrualFailureDetector : IFailureDetector
{
    private readonly Dictionary<NodeAddress, ArrivalWindow> _windows = [];
    private readonly Lock _lock = new();
    private readonly double _minStdDev;
    private readonly double _pause;
    private readonly double _firstEstimate;
    private readonly double _maxInterval;
    private readonly double _ticksPerMs;
    private readonly double _z;
    private object? _owner;
    private long _epoch;

    public PhiAccrualFailureDetector(PhiAccrualOptions? options = null, TimeProvider? time = null)
    {
        Options = options ?? new PhiAccrualOptions();
        var frequency = (time ?? TimeProvider.System).TimestampFrequency;
        _ticksPerMs = frequency / 1000.0;
        _minStdDev = Options.MinStandardDeviation.TotalMilliseconds * _ticksPerMs;
        _pause = Options.AcceptableHeartbeatPause.TotalMilliseconds * _ticksPerMs;
        _firstEstimate = Options.FirstHeartbeatEstimate.TotalMilliseconds * _ticksPerMs;
        _maxInterval = Options.MaxRecordedInterval.TotalMilliseconds * _ticksPerMs;
        _z = ZForPhi(Options.Threshold);
    }

    public PhiAccrualOptions Options { get; }

    public void Report(NodeAddress endpoint, long timestamp)
    {
        lock (_lock)
        {
            _epoch++;
            ReportLocked(endpoint, timestamp, null);
        }
    }

    /// <summary>
    /// Makes <paramref name="owner"/> (the gossiper) the one caller whose reports do not advance <see cref="Epoch"/>; true
    /// if it is (the first to claim). Lets the owner cache each peer's conviction time from its own reports.
    /// </summary>
    internal bool Claim(object owner)
    {
        lock (_lock) return (_owner ??= owner) == owner;
    }

    /// <summary>
    /// Advanced by every change to a window the owner did not make itself (reports by others, removals): while it
    /// stands still, the conviction times the owner got from <see cref="Report(NodeAddress, long, ArrivalWindow?, object, out long, out long)"/> are current.
    /// </summary>
    internal long Epoch => Volatile.Read(ref _epoch);

    /// <summary>
    /// <see cref="Report(NodeAddress, long)"/> through a window the caller kept from an earlier report (null or removed:
    /// looked up by endpoint); returns the endpoint's window to keep. The gossiper reports ~1000 peers per exchange.
    /// </summary>
    internal ArrivalWindow Report(NodeAddress endpoint, long timestamp, ArrivalWindow? known, object caller, out long convictAfter, out long epoch)
    {
        lock (_lock)
        {
            if (caller != _owner) _epoch++;
            var window = ReportLocked(endpoint, timestamp, known);
            convictAfter = window.ConvictAfter;
            epoch = _epoch;
            return window;
        }
    }

    private ArrivalWindow ReportLocked(NodeAddress endpoint, long timestamp, ArrivalWindow? known)
    {
        var window = known is { Removed: false } ? known : _windows.GetValueOrDefault(endpoint);
        if (window is null)
        {
            window = new ArrivalWindow(Options.WindowSize, _firstEstimate);
            _windows.Add(endpoint, window);
        }
        else if (window.LastArrival >= 0)
        {
            var interval = timestamp - window.LastArrival;
            if (interval > 0 && interval <= _maxInterval) window.Add(interval);
        }
        window.LastArrival = timestamp;
        window.ConvictAfter = timestamp + (long)Math.Ceiling(window.Mean + _pause + (_z * Math.Max(Math.Sqrt(window.Variance), _minStdDev)));
        return window;
    }

    public double Phi(NodeAddress endpoint, long timestamp)
    {
        lock (_lock)
        {
            if (!_windows.TryGetValue(endpoint, out var window) || window.LastArrival < 0) return 0.0;
            var elapsed = timestamp - window.LastArrival;
            var mean = window.Mean + _pause;
            var stdDev = Math.Max(Math.Sqrt(window.Variance), _minStdDev);
            return ComputePhi(elapsed, mean, stdDev);
        }
    }

    /// <summary>
    /// Equivalent to <c>Phi(endpoint, timestamp) &lt;= Threshold</c> (phi grows with silence, so the threshold is
    /// crossed at one instant, computed when the heartbeat arrived) without evaluating phi: the gossiper asks this
    /// for every endpoint every round.
    /// </summary>
    public bool IsAvailable(NodeAddress endpoint, long timestamp) => IsAvailable(endpoint, timestamp, null);

    /// <summary><see cref="IsAvailable(NodeAddress, long)"/> through a window kept from <see cref="Report(NodeAddress, long, ArrivalWindow?)"/>.</summary>
    internal bool IsAvailable(NodeAddress endpoint, long timestamp, ArrivalWindow? known)
    {
        lock (_lock)
        {
            var window = known is { Removed: false } ? known : _windows.GetValueOrDefault(endpoint);
            return window is null || window.LastArrival < 0 || timestamp <= window.ConvictAfter;
        }
    }

    public void Remove(NodeAddress endpoint)
    {
        lock (_lock)
        {
            _epoch++;
            if (_windows.Remove(endpoint, out var window)) window.Removed = true;
        }
    }

    /// <summary>
    /// How long after its last heartbeat <paramref name="endpoint"/> will be convicted if nothing more arrives,
    /// given the window as it is now; null if the endpoint was never reported.
    /// </summary>
    public TimeSpan? SilenceBeforeConviction(NodeAddress endpoint)
    {
        lock (_lock)
        {
            if (!_windows.TryGetValue(endpoint, out var window)) return null;
            var mean = window.Mean + _pause;
            var stdDev = Math.Max(Math.Sqrt(window.Variance), _minStdDev);
            var ticks = mean + (stdDev * ZForPhi(Options.Threshold));
            return TimeSpan.FromMilliseconds(ticks / _ticksPerMs);
        }
    }

    /// <summary>Timestamp of the last report from <paramref name="endpoint"/>, or null.</summary>
    public long? LastArrival(NodeAddress endpoint)
    {
        lock (_lock) return _windows.TryGetValue(endpoint, out var w) && w.LastArrival >= 0 ? w.LastArrival : null;
    }

    /// <summary>
    /// phi = -log10(1 - F(elapsed)) with F the normal CDF, using the logistic approximation of Akka's detector
    /// (accurate to about 1e-4, monotonic, and cheap). Written to avoid the catastrophic cancellation of 1 - F.
    /// </summary>
    internal static double ComputePhi(double elapsed, double mean, double stdDev)
    {
        var y = (elapsed - mean) / stdDev;
        var e = Math.Exp(-y * ((1.5976 + (0.070566 * y * y))));
        // 1 - F = e / (1 + e) when elapsed > mean, and 1 - 1/(1 + e) otherwise: both kept as the ratio to stay precise.
        return elapsed > mean ? -Math.Log10(e / (1.0 + e)) : -Math.Log10(1.0 - (1.0 / (1.0 + e)));
    }

    /// <summary>The standard score at which <see cref="ComputePhi"/> reaches <paramref name="phi"/> (bisection).</summary>
    internal static double ZForPhi(double phi)
    {
        double lo = -10, hi = 40;
        for (var i = 0; i < 100; i++)
        {
            var mid = (lo + hi) / 2;
            if (ComputePhi(mid, 0, 1) < phi) lo = mid;
            else hi = mid;
        }
        return hi;
    }
}
