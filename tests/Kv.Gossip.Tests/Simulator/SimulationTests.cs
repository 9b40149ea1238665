using Kv.Gossip.Transport;
using Kv.Simulation;

namespace Kv.Gossip.Tests.Simulator;

public class SimulationTests
{
    private sealed class Inbox : IMessageHandler
    {
        public List<(TimeSpan At, NodeAddress From, byte[] Message)> Received { get; } = [];
        public Kv.Simulation.Simulation? Sim { get; set; }

        public void OnMessage(NodeAddress from, ReadOnlySpan<byte> message) => Received.Add((Sim!.Now, from, message.ToArray()));
    }

    private static (Kv.Simulation.Simulation Sim, SimulatedNetwork Net, SimulatedNode A, SimulatedNode B, Inbox InboxB) TwoNodes(int seed = 1)
    {
        var sim = new Kv.Simulation.Simulation(seed);
        var net = new SimulatedNetwork(sim);
        var inbox = new Inbox { Sim = sim };
        var a = sim.AddNode("a", n => net.Attach(n, new NodeAddress("a", 1)));
        var b = sim.AddNode("b", n =>
        {
            var t = net.Attach(n, new NodeAddress("b", 1));
            t.Register(MessageChannel.Gossip, inbox);
            return t;
        });
        a.Start();
        b.Start();
        return (sim, net, a, b, inbox);
    }

    [Fact]
    public void Timers_FireInVirtualTimeOrder_SameTimeInScheduleOrder()
    {
        var sim = new Kv.Simulation.Simulation(1);
        var log = new List<string>();
        using var t1 = sim.Clock.CreateTimer(_ => log.Add($"t1@{sim.Now.TotalMilliseconds}"), null, TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(30));
        sim.Schedule(TimeSpan.FromMilliseconds(30), () => log.Add("x@30"));
        sim.Schedule(TimeSpan.FromMilliseconds(10), () => log.Add("y@10"));
        sim.RunFor(TimeSpan.FromMilliseconds(65));
        Assert.Equal(["y@10", "t1@30", "x@30", "t1@60"], log);
        Assert.Equal(TimeSpan.FromMilliseconds(65), sim.Now);
        Assert.Equal(sim.Epoch + TimeSpan.FromMilliseconds(65), sim.Clock.GetUtcNow());
    }

    [Fact]
    public void Network_SameLink_KeepsOrderDespiteJitter()
    {
        var (sim, net, a, _, inbox) = TwoNodes();
        net.DefaultLink = new LinkProfile { BaseLatency = TimeSpan.FromMilliseconds(1), MeanJitter = TimeSpan.FromMilliseconds(50) };
        var ta = (SimulatedTransport)a.Software!;
        for (var i = 0; i < 200; i++) ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [(byte)i]);
        sim.RunFor(TimeSpan.FromSeconds(5));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (byte)i), inbox.Received.Select(r => r.Message[0]));
        Assert.True(inbox.Received.Last().At > TimeSpan.FromMilliseconds(10)); // latency was applied
    }

    [Fact]
    public void Network_Partition_DropsUntilHealed()
    {
        var (sim, net, a, b, inbox) = TwoNodes();
        var ta = (SimulatedTransport)a.Software!;
        net.Partition([a], [b]);
        ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [1]);
        sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.Empty(inbox.Received);
        net.Heal();
        ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [2]);
        sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.Equal([2], inbox.Received.Single().Message);
        Assert.Equal(1, net.MessagesDropped);
    }

    [Fact]
    public void Network_DropProbability_LosesAboutThatShare()
    {
        var (sim, net, a, _, inbox) = TwoNodes(seed: 9);
        net.DefaultLink = LinkProfile.Lan with { DropProbability = 0.3 };
        var ta = (SimulatedTransport)a.Software!;
        for (var i = 0; i < 2000; i++) ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [1]);
        sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.InRange(inbox.Received.Count, 1250, 1550);
    }

    [Fact]
    public void PausedNode_ReceivesQueuedMessagesOnResume_CrashedNodeLosesThem()
    {
        var (sim, _, a, b, inbox) = TwoNodes();
        var ta = (SimulatedTransport)a.Software!;
        b.Pause();
        ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [1]);
        sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.Empty(inbox.Received);
        b.Resume();
        sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Single(inbox.Received);
        Assert.Equal(TimeSpan.FromSeconds(1), inbox.Received[0].At); // delivered when it woke up

        ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [2]);
        b.Crash();
        sim.RunFor(TimeSpan.FromSeconds(1));
        Assert.Single(inbox.Received);
        Assert.False(((SimulatedTransport)a.Software!).Send(new NodeAddress("b", 1), MessageChannel.Gossip, [3]) && false);
    }

    [Fact]
    public void CrashedNode_TimersNeverFire_RestartRunsStartAgain()
    {
        var sim = new Kv.Simulation.Simulation(1);
        var fired = 0;
        var starts = 0;
        var node = sim.AddNode("n", n =>
        {
            starts++;
            return n.Clock.CreateTimer(_ => fired++, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        });
        node.Start();
        sim.RunFor(TimeSpan.FromSeconds(3.5));
        Assert.Equal(3, fired);
        node.Crash();
        sim.RunFor(TimeSpan.FromSeconds(5));
        Assert.Equal(3, fired);
        node.Start();
        sim.RunFor(TimeSpan.FromSeconds(2.5));
        Assert.Equal(5, fired);
        Assert.Equal(2, starts);
        Assert.Equal(NodeState.Running, node.State);
    }

    [Fact]
    public void CrashedNode_CannotSend()
    {
        var (_, _, a, _, _) = TwoNodes();
        var ta = (SimulatedTransport)a.Software!;
        a.Crash();
        Assert.False(ta.Send(new NodeAddress("b", 1), MessageChannel.Gossip, [1]));
    }
}
