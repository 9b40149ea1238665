using BenchmarkDotNet.Attributes;
using Kv.Gossip.Membership;
using Kv.Gossip.Transport;

namespace Kv.Benchmarks;

/// <summary>
/// Building the digest list and the SYN message a node sends every round, for a node that knows 100 or 1000
/// endpoints. <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*GossipBenchmarks*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class GossipBenchmarks
{
    private Gossiper _gossiper = null!;
    private GossipDigest[] _digests = null!;

    [Params(100, 1000)]
    public int Endpoints { get; set; }

    private sealed class NullTransport : IMessageTransport
    {
        public IMessageHandler? Handler;

        public NodeAddress LocalAddress { get; } = new("10.9.9.9", 7000);

        public void Register(MessageChannel channel, IMessageHandler handler) => Handler = handler;

        public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message) => true;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [GlobalSetup]
    public void Setup()
    {
        var transport = new NullTransport();
        _gossiper = new Gossiper(transport, new GossipOptions { Interval = TimeSpan.FromHours(1) }, TimeProvider.System, new Random(1));
        _gossiper.Start(new Dictionary<ApplicationState, string> { [ApplicationState.Status] = "NORMAL" });
        // Teach it Endpoints peers with the usual states through an ACK2, as gossip would.
        var w = new GossipWriter();
        w.WriteByte(GossipMessage.FormatVersion);
        w.WriteByte((byte)GossipMessageType.Ack2);
        w.WriteVarint((ulong)Endpoints);
        for (var i = 0; i < Endpoints; i++)
        {
            var state = new EndpointState(new HeartbeatState(1_700_000_000_000 + i, 100), ApplicationStateMap.Empty
                .SetItem(ApplicationState.Status, new VersionedValue("NORMAL", 1))
                .SetItem(ApplicationState.Tokens, new VersionedValue(string.Join(',', Enumerable.Range(0, 16).Select(t => (t * 7919L + i).ToString("x", System.Globalization.CultureInfo.InvariantCulture))), 2))
                .SetItem(ApplicationState.Datacenter, new VersionedValue("dc1", 3))
                .SetItem(ApplicationState.Rack, new VersionedValue($"rack{i % 3}", 4)));
            EndpointDelta.Write(w, new NodeAddress($"10.0.{i / 256}.{i % 256}", 7000), state, -1);
        }
        ((IMessageHandler)_gossiper).OnMessage(new NodeAddress("10.0.0.0", 7000), w.Written);
        if (_gossiper.KnownEndpointCount != Endpoints + 1) throw new InvalidOperationException("setup did not teach the gossiper its peers");
        _digests = new GossipDigest[Endpoints + 1];
    }

    [Benchmark(Description = "build digests")]
    public int BuildDigests() => _gossiper.BuildDigests(_digests);

    [Benchmark(Description = "encode SYN")]
    public int EncodeSyn() => _gossiper.EncodeSynForMeasurement();
}
