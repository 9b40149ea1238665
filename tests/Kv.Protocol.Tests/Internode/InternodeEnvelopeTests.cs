using Kv.Protocol.Buffers;
using Kv.Protocol.Internode;

namespace Kv.Protocol.Tests.Internode;

public class InternodeEnvelopeTests
{
    private static byte[] Encode<T>(InternodeHeader header, T body)
    {
        using var writer = new PooledBufferWriter(16);
        InternodeEnvelope.Write(writer, header, body);
        return writer.WrittenSpan.ToArray();
    }

    private static T Decode<T>(byte[] message, out InternodeHeader header)
    {
        Assert.True(InternodeEnvelope.TryReadHeader(message, out header));
        return InternodeEnvelope.ReadBody<T>(message.AsMemory(InternodeEnvelope.HeaderSize));
    }

    [Fact]
    public void Write_Header_MatchesDocumentedLayout()
    {
        var bytes = Encode(new InternodeHeader(1, InternodeVerb.Read, InternodeFlags.Response | InternodeFlags.Error, 0x0102030405060708), new ErrorResponse(InternodeErrorCode.UnknownVerb, "x"));
        Assert.Equal(new byte[] { 1, 2, 3, 8, 7, 6, 5, 4, 3, 2, 1 }, bytes[..11]);
    }

    [Fact]
    public void MutationRequest_RoundTrips_AndOwnsItsBytes()
    {
        var key = new byte[] { 0, 0, 0, 0, 0, 0, 0, 42, (byte)'k' };
        var value = new byte[100];
        Random.Shared.NextBytes(value);
        var header = InternodeHeader.Request(InternodeVerb.Mutation, 77);
        var message = Encode(header, new MutationRequest(key, value, 123456789, 987, MutationKind.Value));

        var decoded = Decode<MutationRequest>(message, out var readHeader);
        Assert.Equal(header, readHeader);
        var expectedValue = (byte[])value.Clone();
        Array.Clear(message); // a decoded message must not alias the receive buffer, which is reused
        Assert.Equal(key, decoded.StorageKey.ToArray());
        Assert.Equal(expectedValue, decoded.Value.ToArray());
        Assert.Equal(123456789, decoded.Timestamp);
        Assert.Equal(987, decoded.ExpiresAt);
        Assert.Equal(MutationKind.Value, decoded.Kind);
    }

    [Fact]
    public void Tombstone_RoundTripsWithEmptyValue()
    {
        var decoded = Decode<MutationRequest>(Encode(InternodeHeader.Request(InternodeVerb.HintReplay, 1), new MutationRequest(new byte[] { 1 }, ReadOnlyMemory<byte>.Empty, -5, 0, MutationKind.Tombstone)), out var header);
        Assert.Equal(InternodeVerb.HintReplay, header.Verb);
        Assert.Equal(MutationKind.Tombstone, decoded.Kind);
        Assert.True(decoded.Value.IsEmpty);
        Assert.Equal(-5, decoded.Timestamp);
    }

    [Fact]
    public void ResponsesAndScans_RoundTrip()
    {
        var response = Decode<MutationResponse>(Encode(default, MutationResponse.Failed("disk full")), out _);
        Assert.False(response.Ok);
        Assert.Equal("disk full", response.Error);

        var read = Decode<ReadRequest>(Encode(default, new ReadRequest(new byte[] { 9, 9 }, DigestOnly: true)), out _);
        Assert.True(read.DigestOnly);
        Assert.Equal(new byte[] { 9, 9 }, read.StorageKey.ToArray());

        var readResponse = Decode<ReadResponse>(Encode(default, new ReadResponse(ReadOutcome.Deleted, 55, 66, ReadOnlyMemory<byte>.Empty, 0xFEDCBA9876543210)), out _);
        Assert.Equal((ReadOutcome.Deleted, 55L, 66L, 0xFEDCBA9876543210UL), (readResponse.Outcome, readResponse.Timestamp, readResponse.ExpiresAt, readResponse.Digest));

        var scan = Decode<RangeScanRequest>(Encode(default, new RangeScanRequest(new byte[] { 1 }, new byte[] { 2 }, 100, true)), out _);
        Assert.Equal((100, true), (scan.Limit, scan.IncludeTombstones));
        Assert.Equal(new byte[] { 2 }, scan.EndKey.ToArray());

        var page = Decode<RangeScanResponse>(Encode(default, new RangeScanResponse(
            [new ScanRow(new byte[] { 1 }, MutationKind.Value, 10, 0, new byte[] { 5 }), new ScanRow(new byte[] { 2 }, MutationKind.Tombstone, 11, 0, ReadOnlyMemory<byte>.Empty)],
            new byte[] { 3 })), out _);
        Assert.Equal(2, page.Rows.Length);
        Assert.Equal(MutationKind.Tombstone, page.Rows[1].Kind);
        Assert.Equal(new byte[] { 5 }, page.Rows[0].Value.ToArray());
        Assert.False(page.IsComplete);

        var batch = Decode<MutationBatchRequest>(Encode(default, new MutationBatchRequest(
            [new MutationRequest(new byte[] { 1, 2 }, new byte[] { 7 }, 10, 20, MutationKind.Value), new MutationRequest(new byte[] { 3 }, ReadOnlyMemory<byte>.Empty, 11, 0, MutationKind.Tombstone)])), out _);
        Assert.Equal(2, batch.Mutations.Length);
        Assert.Equal((10L, 20L, MutationKind.Value), (batch.Mutations[0].Timestamp, batch.Mutations[0].ExpiresAt, batch.Mutations[0].Kind));
        Assert.Equal(new byte[] { 1, 2 }, batch.Mutations[0].StorageKey.ToArray());
        Assert.Equal(new byte[] { 7 }, batch.Mutations[0].Value.ToArray());
        Assert.Equal((11L, MutationKind.Tombstone), (batch.Mutations[1].Timestamp, batch.Mutations[1].Kind));

        var reads = Decode<ReadBatchRequest>(Encode(default, new ReadBatchRequest([new ReadRequest(new byte[] { 4 }, true), new ReadRequest(new byte[] { 5, 6 }, false)])), out _);
        Assert.Equal((true, false), (reads.Reads[0].DigestOnly, reads.Reads[1].DigestOnly));
        Assert.Equal(new byte[] { 5, 6 }, reads.Reads[1].StorageKey.ToArray());
        var answers = Decode<ReadBatchResponse>(Encode(default, new ReadBatchResponse(
            [new ReadResponse(ReadOutcome.Absent, 0, 0, ReadOnlyMemory<byte>.Empty, 0), new ReadResponse(ReadOutcome.Found, 9, 0, new byte[] { 8 }, 0)])), out _);
        Assert.Equal([ReadOutcome.Absent, ReadOutcome.Found], answers.Results.Select(r => r.Outcome));
        Assert.Equal(new byte[] { 8 }, answers.Results[1].Value.ToArray());
    }

    [Fact]
    public void TryReadHeader_UnknownVerbAndVersion_StillYieldsTheRequestId()
    {
        var message = new byte[] { 9, 200, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0xC0 };
        Assert.True(InternodeEnvelope.TryReadHeader(message, out var header));
        Assert.Equal((9, (InternodeVerb)200, 5UL), (header.Version, header.Verb, header.RequestId));
    }

    [Fact]
    public void TryReadHeader_ShortMessage_ReturnsFalse()
    {
        Assert.False(InternodeEnvelope.TryReadHeader(new byte[10], out _));
    }

    [Fact]
    public void ValueDigest_DiffersOnTimestampKindOrValue_AndMatchesFullResponse()
    {
        var value = new byte[] { 1, 2, 3 };
        var digest = ValueDigest.Compute(ReadOutcome.Found, 10, 0, value);
        Assert.Equal(digest, ValueDigest.Compute(ReadOutcome.Found, 10, 0, [1, 2, 3]));
        Assert.NotEqual(digest, ValueDigest.Compute(ReadOutcome.Found, 11, 0, value));
        Assert.NotEqual(digest, ValueDigest.Compute(ReadOutcome.Deleted, 10, 0, value));
        Assert.NotEqual(digest, ValueDigest.Compute(ReadOutcome.Found, 10, 0, [1, 2, 4]));
        Assert.NotEqual(digest, ValueDigest.Compute(ReadOutcome.Found, 10, 99, value));
        Assert.Equal(digest, ValueDigest.Of(new ReadResponse(ReadOutcome.Found, 10, 0, value, 0)));
        Assert.Equal(0UL, ValueDigest.Compute(ReadOutcome.Absent, 0, 0, default));
    }
}
