using System.Buffers;
using Kv.Gossip.Transport;
using Kv.Node.Cluster.Messaging;
using Kv.Protocol.Internode;

namespace Kv.Node.Tests.Cluster;

public class MessagingServiceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private readonly LoopbackNetwork _network = new();
    private readonly ManualTimeProvider _time = new();
    private readonly LoopbackTransport _aTransport;
    private readonly LoopbackTransport _bTransport;
    private readonly MessagingService _a;
    private readonly MessagingService _b;

    public MessagingServiceTests()
    {
        _aTransport = _network.Add("a");
        _bTransport = _network.Add("b");
        _a = new MessagingService(_aTransport, new MessagingOptions { MaxOutstandingRequestsPerPeer = 3 }, _time);
        _b = new MessagingService(_bTransport, null, _time);
    }

    private NodeAddress B => _bTransport.LocalAddress;

    private static MutationRequest Mutation(byte key) => new(new byte[] { key }, new byte[] { 1, 2, 3 }, 100 + key, 0, MutationKind.Value);

    [Fact]
    public async Task SendRequestAsync_HandlerAnswers_ReturnsItsResponse()
    {
        NodeAddress? seenFrom = null;
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (from, request, _) =>
        {
            seenFrom = from;
            return ValueTask.FromResult(request.Timestamp == 142 ? MutationResponse.Applied : MutationResponse.Failed("wrong timestamp"));
        });
        var response = await _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(42), Timeout);
        Assert.True(response.Ok, response.Error);
        Assert.Equal(_aTransport.LocalAddress, seenFrom);
        Assert.Equal(0, _a.OutstandingRequests(B));
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public async Task SendRequestAsync_ManyInFlightAnsweredOutOfOrder_EachGetsItsOwnResponse()
    {
        var a = new MessagingService(_network.Add("c"), new MessagingOptions { MaxOutstandingRequestsPerPeer = 1000 }, _time);
        var answers = new List<(TaskCompletionSource<ReadResponse> Answer, long Timestamp)>();
        _b.Register<ReadRequest, ReadResponse>(InternodeVerb.Read, (_, request, _) =>
        {
            var answer = new TaskCompletionSource<ReadResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (answers) answers.Add((answer, request.StorageKey.Span[0] * 256 + request.StorageKey.Span[1]));
            return new ValueTask<ReadResponse>(answer.Task);
        });

        var requests = new Task<ReadResponse>[1000];
        for (var i = 0; i < requests.Length; i++)
            requests[i] = a.SendRequestAsync<ReadRequest, ReadResponse>(B, InternodeVerb.Read, new ReadRequest(new[] { (byte)(i / 256), (byte)i }, false), Timeout).AsTask();
        Assert.Equal(1000, a.OutstandingRequests(B));

        // Answer in a shuffled order from many threads: the id, not the order, must pair them up.
        var shuffled = answers.ToArray();
        new Random(7).Shuffle(shuffled);
        Parallel.ForEach(shuffled, x => x.Answer.SetResult(new ReadResponse(ReadOutcome.Found, x.Timestamp, 0, BitConverter.GetBytes(x.Timestamp), 0)));

        var responses = await Task.WhenAll(requests);
        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal(i, responses[i].Timestamp);
            Assert.Equal(BitConverter.GetBytes((long)i), responses[i].Value.ToArray());
        }
        Assert.Equal(0, a.OutstandingRequests(B));
    }

    [Fact]
    public async Task SendRequestAsync_HandlerNeverAnswers_TimesOutOnTheVirtualClock()
    {
        var never = new TaskCompletionSource<MutationResponse>();
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => new ValueTask<MutationResponse>(never.Task));

        var request = _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), TimeSpan.FromMilliseconds(500)).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(request.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        var e = await Assert.ThrowsAsync<RequestTimeoutException>(() => request);
        Assert.Equal(B, e.Peer);
        Assert.Equal(TimeSpan.FromMilliseconds(500), e.Timeout);
        Assert.Contains("b:7000", e.Message);
        Assert.Contains("500 ms", e.Message);
        Assert.Equal(0, _a.OutstandingRequests(B));

        // The late answer finds nothing to complete and is dropped quietly.
        never.SetResult(MutationResponse.Applied);
    }

    [Fact]
    public async Task SendRequestAsync_MessageLost_TimesOut()
    {
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => ValueTask.FromResult(MutationResponse.Applied));
        _aTransport.LoseOutgoing = true;
        var request = _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask();
        _time.Advance(Timeout);
        await Assert.ThrowsAsync<RequestTimeoutException>(() => request);
    }

    [Fact]
    public async Task SendRequestAsync_HandlerThrows_RaisesRemoteErrorWithItsMessage()
    {
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => throw new IOException("disk full on /data"));
        var e = await Assert.ThrowsAsync<RemoteErrorException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask());
        Assert.Equal(InternodeErrorCode.HandlerFailed, e.Code);
        Assert.Equal("disk full on /data", e.RemoteMessage);
        Assert.Equal(B, e.Peer);
    }

    [Fact]
    public async Task SendRequestAsync_AsyncHandlerFails_RaisesRemoteError()
    {
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, async (_, _, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("replica is read-only");
        });
        var e = await Assert.ThrowsAsync<RemoteErrorException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask());
        Assert.Equal("replica is read-only", e.RemoteMessage);
    }

    [Fact]
    public async Task SendRequestAsync_UnknownVerb_RaisesRemoteErrorNotATimeout()
    {
        var e = await Assert.ThrowsAsync<RemoteErrorException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, (InternodeVerb)99, Mutation(1), Timeout).AsTask());
        Assert.Equal(InternodeErrorCode.UnknownVerb, e.Code);
        Assert.Contains("99", e.RemoteMessage);
    }

    [Fact]
    public async Task SendRequestAsync_BodyOfTheWrongShape_RaisesMalformedRequest()
    {
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => ValueTask.FromResult(MutationResponse.Applied));
        var e = await Assert.ThrowsAsync<RemoteErrorException>(() => _a.SendRequestAsync<string, MutationResponse>(B, InternodeVerb.Mutation, "not a mutation", Timeout).AsTask());
        Assert.Equal(InternodeErrorCode.MalformedRequest, e.Code);
    }

    [Fact]
    public async Task SendRequestAsync_ResponseOfTheWrongShape_RaisesMalformedResponse()
    {
        _b.Register<MutationRequest, string>(InternodeVerb.Mutation, (_, _, _) => ValueTask.FromResult("surprise"));
        await Assert.ThrowsAsync<MalformedResponseException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask());
        Assert.Equal(0, _a.OutstandingRequests(B));
    }

    [Fact]
    public async Task OnMessage_RequestOfAFutureEnvelopeVersion_AnswersUnsupportedVersion()
    {
        var probe = _network.Add("probe");
        var replies = new List<byte[]>();
        probe.Register(MessageChannel.Internode, new RecordingHandler(replies));
        var writer = new ArrayBufferWriter<byte>();
        InternodeEnvelope.Write(writer, new InternodeHeader(9, InternodeVerb.Mutation, InternodeFlags.None, 4242), Mutation(1));

        Assert.True(probe.Send(B, MessageChannel.Internode, writer.WrittenSpan));

        var reply = Assert.Single(replies);
        Assert.True(InternodeEnvelope.TryReadHeader(reply, out var header));
        Assert.True(header.IsResponse && header.IsError);
        Assert.Equal(4242UL, header.RequestId);
        var error = InternodeEnvelope.ReadBody<ErrorResponse>(reply.AsMemory(InternodeEnvelope.HeaderSize));
        Assert.Equal(InternodeErrorCode.UnsupportedVersion, error.Code);
        await Task.CompletedTask;
    }

    [Fact]
    public void OnMessage_TruncatedEnvelope_IsDroppedWithoutAnswer()
    {
        var probe = _network.Add("probe");
        var replies = new List<byte[]>();
        probe.Register(MessageChannel.Internode, new RecordingHandler(replies));
        Assert.True(probe.Send(B, MessageChannel.Internode, new byte[] { 1, 2, 3 }));
        Assert.Empty(replies);
    }

    [Fact]
    public async Task SendRequestAsync_TooManyOutstanding_FailsFastWithPeerUnavailable()
    {
        var never = new TaskCompletionSource<MutationResponse>();
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => new ValueTask<MutationResponse>(never.Task));
        var held = Enumerable.Range(0, 3).Select(i => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation((byte)i), Timeout).AsTask()).ToArray();
        var sentBefore = _aTransport.Sent;

        var e = await Assert.ThrowsAsync<PeerUnavailableException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(9), Timeout).AsTask());
        Assert.Contains("3 requests", e.Message);
        Assert.Equal(sentBefore, _aTransport.Sent); // refused before touching the network

        _time.Advance(Timeout);
        foreach (var h in held) await Assert.ThrowsAsync<RequestTimeoutException>(() => h);
        Assert.Equal(0, _a.OutstandingRequests(B));
    }

    [Fact]
    public void SendRequest_WithCallback_EachRequestGetsExactlyOneOutcome()
    {
        var never = new TaskCompletionSource<MutationResponse>();
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, request, _) =>
            request.Timestamp == 101 ? ValueTask.FromResult(MutationResponse.Applied) : new ValueTask<MutationResponse>(never.Task));

        var answered = new RecordingCallback();
        _a.SendRequest(B, InternodeVerb.Mutation, Mutation(1), Timeout, answered);
        Assert.Equal(["ok"], answered.Outcomes);

        var silent = Enumerable.Range(2, 3).Select(i =>
        {
            var callback = new RecordingCallback();
            _a.SendRequest(B, InternodeVerb.Mutation, Mutation((byte)i), Timeout, callback);
            return callback;
        }).ToArray();
        var refused = new RecordingCallback();
        _a.SendRequest(B, InternodeVerb.Mutation, Mutation(9), Timeout, refused); // a fourth outstanding request: over the limit of 3
        Assert.Equal([nameof(PeerUnavailableException)], refused.Outcomes);
        Assert.All(silent, c => Assert.Empty(c.Outcomes));

        _time.Advance(Timeout);
        Assert.All(silent, c => Assert.Equal([nameof(RequestTimeoutException)], c.Outcomes));
        never.SetResult(MutationResponse.Applied); // late answers reach nobody
        Assert.All(silent, c => Assert.Single(c.Outcomes));
        Assert.Equal(0, _a.OutstandingRequests(B));
        Assert.Equal(0, _time.ActiveTimers);
    }

    private sealed class RecordingCallback : IResponseCallback<MutationResponse>
    {
        public List<string> Outcomes { get; } = [];

        public void OnResponse(MutationResponse response) => Outcomes.Add(response.Ok ? "ok" : "failed: " + response.Error);

        public void OnFailure(Exception error) => Outcomes.Add(error.GetType().Name);
    }

    [Fact]
    public async Task SendRequestAsync_TransportRefuses_RaisesPeerUnavailableAndReleasesTheSlot()
    {
        _aTransport.Refuse = true;
        var e = await Assert.ThrowsAsync<PeerUnavailableException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask());
        Assert.Equal(B, e.Peer);
        Assert.Equal(0, _a.OutstandingRequests(B));
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public async Task SendRequestAsync_Cancelled_ThrowsOperationCanceledAndReleasesTheSlot()
    {
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => new ValueTask<MutationResponse>(new TaskCompletionSource<MutationResponse>().Task));
        using var cts = new CancellationTokenSource();
        var request = _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout, cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        Assert.Equal(0, _a.OutstandingRequests(B));
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public async Task SendOneWay_DeliversWithoutAResponse()
    {
        var received = new List<long>();
        _b.RegisterOneWay<MutationRequest>(InternodeVerb.HintReplay, (_, m, _) =>
        {
            received.Add(m.Timestamp);
            return ValueTask.CompletedTask;
        });
        var sentBefore = _bTransport.Sent;
        Assert.True(_a.SendOneWay(B, InternodeVerb.HintReplay, Mutation(5)));
        Assert.True(_a.SendOneWay(B, InternodeVerb.HintReplay, Mutation(6)));
        Assert.Equal(new long[] { 105, 106 }, received);
        Assert.Equal(sentBefore, _bTransport.Sent); // nothing came back
        await Task.CompletedTask;
    }

    [Fact]
    public async Task DisposeAsync_PendingRequests_FailWithPeerUnavailable()
    {
        _b.Register<MutationRequest, MutationResponse>(InternodeVerb.Mutation, (_, _, _) => new ValueTask<MutationResponse>(new TaskCompletionSource<MutationResponse>().Task));
        var request = _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask();
        await _a.DisposeAsync();
        await Assert.ThrowsAsync<PeerUnavailableException>(() => request);
        await Assert.ThrowsAsync<PeerUnavailableException>(() => _a.SendRequestAsync<MutationRequest, MutationResponse>(B, InternodeVerb.Mutation, Mutation(1), Timeout).AsTask());
    }

    private sealed class RecordingHandler(List<byte[]> into) : IMessageHandler
    {
        public void OnMessage(NodeAddress from, ReadOnlySpan<byte> message) => into.Add(message.ToArray());
    }
}
