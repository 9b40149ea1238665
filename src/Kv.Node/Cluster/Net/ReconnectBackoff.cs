namespace Kv.Node.Cluster.Net;

/// <summary>
/// Exponential backoff with jitter for reconnects: attempt n waits a random time in
/// [d/2, d] where d = min(max, initial * 2^n), so peers that lost a node at the same moment do not
/// all reconnect in the same instant, and a dead peer costs at most one attempt per max delay.
/// </summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan max, Random random)
    {
        var ceiling = initial.Ticks;
        for (var i = 0; i < attempt && ceiling < max.Ticks; i++) ceiling *= 2;
        ceiling = Math.Min(ceiling, max.Ticks);
        var half = ceiling / 2;
        return TimeSpan.FromTicks(half + (long)(random.NextDouble() * (ceiling - half)));
    }
}
