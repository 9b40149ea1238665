namespace Kv.Simulation.Cluster;

/// <summary>
/// Runs a simulation on a fresh thread with no <see cref="SynchronizationContext"/> and the default task scheduler.
/// The runtime resumes an awaiting method inline only in that setting: under a test framework's synchronization
/// context (xunit installs one) a completed task's continuations are queued to the thread pool instead, and the
/// run stops being single-threaded and deterministic. The large stack keeps deep inline continuation chains from
/// reaching the runtime's stack guard, which would also move them to the thread pool.
/// </summary>
/// <remarks>Threading: <see cref="Run{T}"/> blocks the caller until the simulation thread finishes.</remarks>
public static class SimulationThread
{
    private const int StackBytes = 64 * 1024 * 1024;

    /// <summary>Whether the current thread is one started by <see cref="Run{T}"/>.</summary>
    public static bool IsCurrent => t_current;

    [ThreadStatic]
    private static bool t_current;

    public static T Run<T>(Func<T> body)
    {
        T result = default!;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            t_current = true;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            }
        }, StackBytes)
        {
            Name = "simulation",
            IsBackground = true,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }
}
