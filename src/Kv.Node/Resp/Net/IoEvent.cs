using Microsoft.Extensions.Logging;

namespace Kv.Node.Resp.Net;

/// <summary>Work a socket I/O thread has deferred to the end of the event it is handling.</summary>
internal interface IEndOfEventWork
{
    /// <summary>Runs on the I/O thread once its event's handling returned to the loop; may defer more work.</summary>
    void Run();
}

/// <summary>
/// The event an <see cref="EpollLoop"/> thread is handling: one socket's readiness, and everything that runs inline
/// from it (a client's pipelined requests up to their first wait, or a peer's responses and the requests they resume).
/// Code that would send one message per request can instead gather them while the event lasts and send once at its
/// end (<see cref="Defer"/>): the coordinator sends a client's 16 pipelined SETs to each replica as one batch.
/// </summary>
/// <remarks>
/// Threading: thread-static state; <see cref="InProgress"/> is true only on a loop thread inside an event, so a
/// deferral never waits on another thread. Deferred work runs before the thread waits for its next event; work that
/// defers more (a send that fails at once can complete writes inline, which resume their connections) runs in the
/// same round, until nothing is left.
/// </remarks>
internal static class IoEvent
{
    [ThreadStatic] private static int t_depth;
    [ThreadStatic] private static List<IEndOfEventWork>? t_deferred;

    /// <summary>True on a socket I/O thread inside an event: work deferred now runs when the event is done.</summary>
    public static bool InProgress => t_depth > 0;

    public static void Defer(IEndOfEventWork work)
    {
        if (t_depth == 0) throw new InvalidOperationException("no I/O event is in progress on this thread");
        (t_deferred ??= []).Add(work);
    }

    public static void Begin() => t_depth++;

    /// <summary>Ends the event; the outermost end runs the deferred work (each failure logged, the rest still run).</summary>
    public static void End(ILogger logger)
    {
        try
        {
            if (t_depth == 1 && t_deferred is { Count: > 0 } deferred)
            {
                // Count is re-read each time: work may defer more while it runs.
                for (var i = 0; i < deferred.Count; i++)
                {
                    try
                    {
                        deferred[i].Run();
                    }
                    catch (Exception e)
                    {
                        logger.LogError(e, "socket I/O thread: work deferred to the end of an event failed");
                    }
                }
                deferred.Clear();
            }
        }
        finally
        {
            t_depth--;
        }
    }
}
