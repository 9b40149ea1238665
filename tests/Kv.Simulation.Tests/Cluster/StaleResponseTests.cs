using System.Text;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Messaging;
using Kv.Protocol.Internode;
using Kv.Simulation.Cluster;

namespace Kv.Simulation.Tests.Cluster;

/// <summary>
/// A peer that was paused (or slow) answers requests of a node's previous process after that node restarted.
/// Request ids used to start at 1 in every process, so the stale answer completed the new process's request with
/// the same id: for a read, the value of another key.
/// </summary>
public sealed class StaleResponseTests
{
    [Fact]
    public void SendReadAsync_PausedPeerAnswersOurPreviousIncarnation_StaleAnswerIsNotTakenForTheNewRequest() => SimulationThread.Run(() =>
    {
        var simulation = new Simulation(1);
        var network = new SimulatedNetwork(simulation);
        var addresses = new[] { new NodeAddress("10.0.0.1", 7000), new NodeAddress("10.0.0.2", 7000) };
        var nodes = new SimulatedNode[2];
        for (var i = 0; i < 2; i++)
        {
            var id = i;
            nodes[i] = simulation.AddNode(addresses[i].Host, node =>
            {
                var messaging = new MessagingService(network.Attach(node, addresses[id]), new MessagingOptions { RunContinuationsAsynchronously = false }, node.Clock);
                // The replica answers every read with the key it was asked for as the value.
                messaging.ServeReads((_, r, _) => ValueTask.FromResult(new ReadResponse(ReadOutcome.Found, 1, 0, r.StorageKey.ToArray(), 0)));
                return messaging;
            });
            nodes[i].Start();
        }
        var coordinator = nodes[0];
        var replica = nodes[1];

        replica.Pause();
        var old = coordinator.SoftwareAs<MessagingService>().SendReadAsync(addresses[1], new ReadRequest(Encoding.UTF8.GetBytes("old-key"), false), TimeSpan.FromSeconds(30)).AsTask();
        simulation.RunFor(TimeSpan.FromSeconds(1));
        coordinator.Restart();
        var fresh = coordinator.SoftwareAs<MessagingService>().SendReadAsync(addresses[1], new ReadRequest(Encoding.UTF8.GetBytes("new-key"), false), TimeSpan.FromSeconds(30)).AsTask();
        simulation.RunFor(TimeSpan.FromSeconds(1));
        replica.Resume(); // answers "old-key" first, then "new-key"

        Assert.True(simulation.RunUntil(() => fresh.IsCompleted, TimeSpan.FromSeconds(60)));
        Assert.Equal("new-key", Encoding.UTF8.GetString(fresh.Result.Value.Span));
        Assert.False(old.IsCompleted, "the previous incarnation's request died with it");
        return 0;
    });
}
