using BenchmarkDotNet.Attributes;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Benchmarks;

/// <summary>
/// Token → replicas on a balanced ring with 16 vnodes per node, RF 3 on distinct racks. Must allocate nothing.
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*RingBenchmarks*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class RingBenchmarks
{
    private ReplicaPlacement _placement = null!;
    private ulong[] _tokens = null!;
    private readonly NodeAddress[] _destination = new NodeAddress[3];
    private readonly int[] _preference = new int[5];

    [Params(100, 1000)]
    public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var members = new List<RingMember>(Nodes);
        var ring = TokenRing.Empty;
        for (var i = 0; i < Nodes; i++)
        {
            members.Add(new RingMember(new NodeAddress($"10.0.{i / 256}.{i % 256}", 7000), "dc1", $"rack{i % 3}",
                TokenAllocator.Allocate(ring, 16, (ulong)random.NextInt64())));
            ring = TokenRing.Create(members);
        }
        _placement = new ReplicaPlacement(ring, new NetworkTopologyStrategy(new Dictionary<string, int> { ["dc1"] = 3 }));
        _tokens = new ulong[1024];
        for (var i = 0; i < _tokens.Length; i++) _tokens[i] = (ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63);
    }

    private int _next;

    private ulong NextToken() => _tokens[_next++ & 1023];

    [Benchmark(Description = "token -> replica indices (span)")]
    public int ReplicasFor() => _placement.ReplicasFor(NextToken()).Length;

    [Benchmark(Description = "token -> replica addresses")]
    public int GetReplicas() => _placement.GetReplicas(NextToken(), _destination);

    [Benchmark(Description = "key -> token -> replicas")]
    public int KeyToReplicas() => _placement.ReplicasFor(Partitioner.Token("user:1000:profile"u8)).Length;

    [Benchmark(Description = "preference list (3 + 2 fallbacks)")]
    public int PreferenceListFill() => PreferenceList.Fill(_placement, NextToken(), 2, null, _preference, out _);
}
