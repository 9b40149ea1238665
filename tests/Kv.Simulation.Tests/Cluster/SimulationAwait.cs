namespace Kv.Simulation.Tests.Cluster;

/// <summary>Runs a simulation until a task started on it completes (tests run on <see cref="Kv.Simulation.Cluster.SimulationThread"/>).</summary>
internal static class SimulationAwait
{
    public static T Result<T>(Simulation simulation, ValueTask<T> operation, TimeSpan? limit = null)
    {
        var task = operation.AsTask();
        Assert.True(simulation.RunUntil(() => task.IsCompleted, limit ?? TimeSpan.FromSeconds(30)), "the operation did not complete in virtual time");
        return task.GetAwaiter().GetResult();
    }

    public static Exception Failure<T>(Simulation simulation, ValueTask<T> operation, TimeSpan? limit = null)
    {
        var task = operation.AsTask();
        Assert.True(simulation.RunUntil(() => task.IsCompleted, limit ?? TimeSpan.FromSeconds(30)), "the operation did not complete in virtual time");
        Assert.True(task.IsFaulted, $"expected a failure, got {(task.IsCompletedSuccessfully ? "success" : task.Status.ToString())}");
        return task.Exception!.InnerException!;
    }
}
