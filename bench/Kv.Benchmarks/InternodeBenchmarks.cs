using BenchmarkDotNet.Attributes;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Net;
using Kv.Protocol.Buffers;
using Kv.Protocol.Internode;

namespace Kv.Benchmarks;

/// <summary>
/// Internode messaging: the envelope codec of a 100-byte MutationRequest, and request/response round
/// trips through MessagingService over two TcpTransports on loopback.
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*InternodeBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class InternodeBenchmarks
{
    private const int Concurrent = 64;

    private readonly PooledBufferWriter _writer = new(512);
    private MutationRequest _mutation;
    private byte[] _encoded = [];
    private TcpTransport? _clientTransport;
    private TcpTransport? _serverTransport;
    private MessagingService? _client;
    private MessagingService? _server;
    private NodeAddress _serverAddress;
    private readonly Task<MutationResponse>[] _inFlight = new Task<MutationResponse>[Concurrent];

    [GlobalSetup]
    public void Setup()
    {
        var key = new byte[8 + 16];
        var value = new byte[100];
        Random.Shared.NextBytes(key);
        Random.Shared.NextBytes(value);
        _mutation = new MutationRequest(key, value, 0x0001_8F00_0000_0001, 0, MutationKind.Value);
        _writer.Reset();
        InternodeEnvelope.Write(_writer, InternodeHeader.Request(InternodeVerb.Mutation, 1), _mutation);
        _encoded = _writer.WrittenSpan.ToArray();

        _serverTransport = TcpTransport.Start(new TcpTransportOptions());
        _clientTransport = TcpTransport.Start(new TcpTransportOptions());
        _server = new MessagingService(_serverTransport);
        _client = new MessagingService(_clientTransport);
        _server.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, static (_, _, _) => ValueTask.FromResult(MutationResponse.Applied));
        _serverAddress = _serverTransport.LocalAddress;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _clientTransport?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverTransport?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _writer.Dispose();
    }

    [Benchmark]
    public int EncodeMutation()
    {
        _writer.Reset();
        InternodeEnvelope.Write(_writer, InternodeHeader.Request(InternodeVerb.Mutation, 42), _mutation);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public long DecodeMutation()
    {
        InternodeEnvelope.TryReadHeader(_encoded, out var header);
        var request = InternodeEnvelope.ReadBody<MutationRequest>(_encoded.AsMemory(InternodeEnvelope.HeaderSize));
        return request.Timestamp + (long)header.RequestId;
    }

    /// <summary>One request at a time: the latency of a round trip.</summary>
    [Benchmark]
    public async Task<bool> RoundTripSequential()
    {
        var response = await _client!.SendRequestAsync<MutationRequest, MutationResponse>(_serverAddress, InternodeVerb.Mutation, _mutation, TimeSpan.FromSeconds(10));
        return response.Ok;
    }

    /// <summary>64 requests in flight on one connection: throughput (time per request).</summary>
    [Benchmark(OperationsPerInvoke = Concurrent)]
    public async Task<int> RoundTripConcurrent64()
    {
        for (var i = 0; i < Concurrent; i++)
            _inFlight[i] = _client!.SendRequestAsync<MutationRequest, MutationResponse>(_serverAddress, InternodeVerb.Mutation, _mutation, TimeSpan.FromSeconds(10)).AsTask();
        var ok = 0;
        for (var i = 0; i < Concurrent; i++)
            if ((await _inFlight[i]).Ok) ok++;
        return ok;
    }
}
