using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Net;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster;

/// <summary>MessagingService over the real TCP transport: the stack the coordinator will use.</summary>
public class MessagingOverTcpTests
{
    [Fact]
    public async Task SendRequestAsync_OverTcp_ConcurrentRequestsBothWaysGetTheirOwnResponses()
    {
        await using var aTransport = TcpTransport.Start(new TcpTransportOptions());
        await using var bTransport = TcpTransport.Start(new TcpTransportOptions());
        await using var a = new MessagingService(aTransport);
        await using var b = new MessagingService(bTransport);
        Func<Kv.Gossip.Transport.NodeAddress, ReadRequest, CancellationToken, ValueTask<ReadResponse>> echo = async (_, request, _) =>
        {
            await Task.Yield();
            return new ReadResponse(ReadOutcome.Found, request.StorageKey.Span[0] | (request.StorageKey.Span[1] << 8), 0, request.StorageKey.ToArray(), 0);
        };
        a.Register(InternodeVerb.Read, echo);
        b.Register(InternodeVerb.Read, echo);

        var timeout = TimeSpan.FromSeconds(30);
        var calls = new List<Task<(int Expected, ReadResponse Response)>>();
        for (var i = 0; i < 500; i++)
        {
            var n = i;
            var (from, to) = i % 2 == 0 ? (a, bTransport.LocalAddress) : (b, aTransport.LocalAddress);
            calls.Add(Task.Run(async () => (n, await from.SendRequestAsync<ReadRequest, ReadResponse>(to, InternodeVerb.Read, new ReadRequest(new[] { (byte)n, (byte)(n >> 8) }, false), timeout))));
        }
        foreach (var (expected, response) in await Task.WhenAll(calls))
        {
            Assert.Equal(expected, response.Timestamp);
            Assert.Equal(new[] { (byte)expected, (byte)(expected >> 8) }, response.Value.ToArray());
        }
        Assert.Equal(0, a.OutstandingRequests(bTransport.LocalAddress));
    }
}
