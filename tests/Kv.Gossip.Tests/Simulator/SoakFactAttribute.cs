namespace Kv.Gossip.Tests.Simulator;

/// <summary>A test that only runs with KV_SOAK=1 (long runs and measurements kept out of the default suite).</summary>
public sealed class SoakFactAttribute : FactAttribute
{
    public SoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("KV_SOAK") != "1") Skip = "long run: set KV_SOAK=1 to run it";
    }
}
