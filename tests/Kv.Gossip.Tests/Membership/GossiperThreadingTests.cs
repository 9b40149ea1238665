using Kv.Gossip.Membership;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Tests.Membership;

/// <summary>
/// The gossiper under real threads (as the TCP transport drives it): an in-process transport that delivers on
/// the sender's thread, several threads running rounds, changing states and delivering at once. Asserts
/// convergence and that no call throws; no timing is asserted.
/// </summary>
public class GossiperThreadingTests
{
    private sealed class LoopbackNetwork
    {
        public readonly Dictionary<NodeAddress, LoopbackTransport> Transports = [];
    }

    private sealed class LoopbackTransport(LoopbackNetwork network, NodeAddress address) : IMessageTransport
    {
        private IMessageHandler? _handler;

        public NodeAddress LocalAddress => address;

        public void Register(MessageChannel channel, IMessageHandler handler) => _handler = handler;

        public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message)
        {
            if (!network.Transports.TryGetValue(destination, out var target) || target._handler is null) return false;
            var copy = message.ToArray();
            // Deliver on a pool thread, like a socket read loop would.
            ThreadPool.UnsafeQueueUserWorkItem(_ => target._handler.OnMessage(address, copy), null);
            return true;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Gossiper_ConcurrentRoundsMessagesAndChanges_ConvergesWithoutErrors()
    {
        const int n = 8;
        var network = new LoopbackNetwork();
        var addresses = Enumerable.Range(0, n).Select(i => new NodeAddress("127.0.0.1", 10000 + i)).ToArray();
        foreach (var a in addresses) network.Transports[a] = new LoopbackTransport(network, a);
        var gossipers = addresses.Select((a, i) => new Gossiper(network.Transports[a],
            new GossipOptions { Seeds = [addresses[0]], Interval = TimeSpan.FromHours(1) }, // rounds are driven by the test threads
            TimeProvider.System, new Random(i))).ToArray();
        var errors = 0;
        var changes = 0;
        foreach (var g in gossipers)
        {
            g.Register(new CountingListener(() => Interlocked.Increment(ref changes)));
            g.Start(new Dictionary<ApplicationState, string> { [ApplicationState.Status] = "NORMAL" });
        }
        var threads = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            try
            {
                for (var round = 0; round < 300; round++)
                {
                    gossipers[(round + t) % n].RunRound();
                    gossipers[(round * 3 + t) % n].SetApplicationState(ApplicationState.Load, $"{t}-{round}");
                    _ = gossipers[round % n].GetEndpointStates();
                }
            }
            catch
            {
                Interlocked.Increment(ref errors);
                throw;
            }
        })).ToArray();
        await Task.WhenAll(threads);
        // Let in-flight deliveries settle, then a few quiet rounds until everyone agrees on everyone's latest LOAD.
        bool Agreed() => gossipers.All(g => addresses.All(a => g.GetEndpointState(a)?.Get(ApplicationState.Load)
            == gossipers[Array.IndexOf(addresses, a)].GetEndpointState(a)!.Get(ApplicationState.Load)));
        for (var i = 0; i < 400 && !Agreed(); i++)
        {
            foreach (var g in gossipers) g.RunRound();
            await Task.Delay(5);
        }
        Assert.Equal(0, errors);
        Assert.True(Agreed());
        Assert.True(changes > 0);
        foreach (var g in gossipers) g.Stop();
    }

    private sealed class CountingListener(Action onChange) : IEndpointStateListener
    {
        public void OnChange(NodeAddress endpoint, ApplicationState key, VersionedValue value) => onChange();
    }
}
