using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Hosting;

namespace Kv.Node.Tests.Cluster.Hosting;

public sealed class ClusterOptionsBindingTests
{
    private static NodeOptions Bind(params string[] args) => NodeOptionsBinder.Bind(args, TextWriter.Null, new Dictionary<string, string?>())!;

    [Fact]
    public void Bind_ClusterFlags_SetClusterOptions()
    {
        var o = Bind("--node-id", "n2", "--peer-port", "7002", "--seeds", "127.0.0.1:7001, 127.0.0.1:7002", "--dc", "east", "--rack", "r2",
            "--replication-factor", "5", "--read-consistency", "one", "--write-consistency", "ALL", "--hint-window", "60");
        Assert.True(o.Cluster.Enabled);
        Assert.Equal("n2", o.Cluster.NodeId);
        Assert.Equal(7002, o.Cluster.PeerPort);
        Assert.Equal([new NodeAddress("127.0.0.1", 7001), new NodeAddress("127.0.0.1", 7002)], o.Cluster.Seeds);
        Assert.Equal(("east", "r2", 5), (o.Cluster.Datacenter, o.Cluster.Rack, o.Cluster.ReplicationFactor));
        Assert.Equal(ConsistencyLevel.One, o.Cluster.ReadConsistency);
        Assert.Equal(ConsistencyLevel.All, o.Cluster.WriteConsistency);
        Assert.Equal(TimeSpan.FromMinutes(1), o.Cluster.HintWindow);
    }

    [Fact]
    public void Bind_NoPeerPort_IsSingleNode() => Assert.False(Bind().Cluster.Enabled);

    [Theory]
    [InlineData("--seeds", "localhost")]
    [InlineData("--read-consistency", "ANY")]
    [InlineData("--write-consistency", "MOST")]
    [InlineData("--replication-factor", "0")]
    public void Bind_BadClusterValue_ThrowsNamingTheOption(string option, string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => Bind(option, value));
        Assert.Contains(option.TrimStart('-'), e.Message);
    }
}
