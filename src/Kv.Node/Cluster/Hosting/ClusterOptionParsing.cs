using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Hosting;

namespace Kv.Node.Cluster.Hosting;

/// <summary>Parsers for the cluster options of <see cref="NodeOptionsBinder"/>; errors name the option and what it accepts.</summary>
internal static class ClusterOptionParsing
{
    public static List<NodeAddress> Seeds(string value)
    {
        try
        {
            return ClusterOptions.ParseSeeds(value);
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException($"--seeds: {e.Message}");
        }
    }

    public static ConsistencyLevel Consistency(string name, string value, bool allowAny)
    {
        if (!ConsistencyLevels.TryParse(value, out var level) || (!allowAny && level == ConsistencyLevel.Any))
            throw new ConfigurationException($"--{name}: '{value}' is not a consistency level; use {(allowAny ? "ANY, " : "")}ONE, TWO, QUORUM or ALL");
        return level;
    }
}
