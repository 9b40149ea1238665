using System.Buffers;
using System.Buffers.Binary;
using CsCheck;
using Kv.Protocol.Internode;

namespace Kv.Protocol.Tests.Internode;

public class InternodeFrameTests
{
    private const int Max = 1 << 20;

    private static byte[] Encode(byte channel, byte[] payload)
    {
        var bytes = new byte[InternodeFrame.EncodedSize(payload.Length)];
        Assert.Equal(bytes.Length, InternodeFrame.Write(bytes, channel, payload));
        return bytes;
    }

    [Fact]
    public void Write_Layout_MatchesDocumentedGrammar()
    {
        var bytes = Encode(2, [0xAA, 0xBB, 0xCC]);
        Assert.Equal(12, bytes.Length);
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(bytes)); // channel + 3 payload bytes
        Assert.Equal(2, bytes[8]);
        Assert.Equal(new byte[] { 0xAA, 0xBB, 0xCC }, bytes[9..]);
    }

    [Fact]
    public void BytesNeeded_IsTheWholeFrame_OnceItsLengthArrived()
    {
        var frame = Encode(1, new byte[3000]);
        Assert.Equal(0, InternodeFrame.BytesNeeded(new ReadOnlySequence<byte>(frame[..3]), Max)); // length not all here
        Assert.Equal(frame.Length, InternodeFrame.BytesNeeded(new ReadOnlySequence<byte>(frame[..4]), Max));
        Assert.Equal(frame.Length, InternodeFrame.BytesNeeded(new ReadOnlySequence<byte>(frame[..100]), Max));
        Assert.Equal(frame.Length, InternodeFrame.BytesNeeded(new ReadOnlySequence<byte>(frame), Max));
        // A length TryRead refuses announces nothing: the buffer must not grow for it.
        Assert.Equal(0, InternodeFrame.BytesNeeded(new ReadOnlySequence<byte>(frame[..100]), 2000));
        Assert.Equal(0, InternodeFrame.BytesNeeded(new ReadOnlySequence<byte>(new byte[9]), Max));
    }

    [Fact]
    public void TryRead_RandomFrames_RoundTrip()
    {
        Gen.Select(Gen.Byte, Gen.Byte.Array[0, 600]).Sample((channel, payload) =>
        {
            var buffer = new ReadOnlySequence<byte>(Encode(channel, payload));
            Assert.True(InternodeFrame.TryRead(ref buffer, Max, out var readChannel, out var readPayload));
            Assert.Equal(channel, readChannel);
            Assert.Equal(payload, readPayload.ToArray());
            Assert.True(buffer.IsEmpty);
        });
    }

    [Fact]
    public void TryRead_SplitAtEveryByteBoundary_ReadsTheSameFrames()
    {
        var first = Encode(1, Enumerable.Range(0, 40).Select(i => (byte)i).ToArray());
        var second = Encode(2, [7, 8, 9]);
        var stream = first.Concat(second).ToArray();
        for (var cut = 1; cut < stream.Length; cut++)
        {
            for (var cut2 = cut + 1; cut2 < stream.Length; cut2 += 7)
            {
                var buffer = Segments.Split(stream, cut, cut2);
                Assert.True(InternodeFrame.TryRead(ref buffer, Max, out var c1, out var p1));
                Assert.Equal(1, c1);
                Assert.Equal(first[9..], p1.ToArray());
                Assert.True(InternodeFrame.TryRead(ref buffer, Max, out var c2, out var p2));
                Assert.Equal(2, c2);
                Assert.Equal(new byte[] { 7, 8, 9 }, p2.ToArray());
                Assert.True(buffer.IsEmpty);
            }
        }
    }

    [Fact]
    public void TryRead_EveryPrefix_IsIncompleteNotAnError()
    {
        var frame = Encode(2, [1, 2, 3, 4, 5]);
        for (var length = 0; length < frame.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(frame, 0, length);
            Assert.False(InternodeFrame.TryRead(ref buffer, Max, out _, out _));
            Assert.Equal(length, buffer.Length); // nothing consumed
        }
    }

    [Fact]
    public void TryRead_AnyFlippedBitOutsideLength_ThrowsChecksumMismatch()
    {
        var frame = Encode(2, [10, 20, 30, 40]);
        for (var index = 4; index < frame.Length; index++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var corrupt = (byte[])frame.Clone();
                corrupt[index] ^= (byte)(1 << bit);
                var buffer = new ReadOnlySequence<byte>(corrupt);
                var e = Assert.Throws<InternodeProtocolException>(() => InternodeFrame.TryRead(ref buffer, Max, out _, out _));
                Assert.Equal(InternodeProtocolError.ChecksumMismatch, e.Error);
            }
        }
    }

    [Fact]
    public void TryRead_LengthAboveMaximum_ThrowsBeforePayloadArrives()
    {
        var header = new byte[InternodeFrame.HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 1025);
        var buffer = new ReadOnlySequence<byte>(header); // only the header: the payload never needs to be buffered
        var e = Assert.Throws<InternodeProtocolException>(() => InternodeFrame.TryRead(ref buffer, 1024, out _, out _));
        Assert.Equal(InternodeProtocolError.FrameTooLarge, e.Error);
        Assert.Contains("1025", e.Message);
    }

    [Fact]
    public void TryRead_LengthAtMaximum_IsAccepted()
    {
        var frame = Encode(1, new byte[1023]);
        var buffer = new ReadOnlySequence<byte>(frame);
        Assert.True(InternodeFrame.TryRead(ref buffer, 1024, out _, out var payload));
        Assert.Equal(1023, payload.Length);
    }

    [Fact]
    public void TryRead_ZeroLength_ThrowsEmptyFrame()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[InternodeFrame.HeaderSize]);
        var e = Assert.Throws<InternodeProtocolException>(() => InternodeFrame.TryRead(ref buffer, Max, out _, out _));
        Assert.Equal(InternodeProtocolError.EmptyFrame, e.Error);
    }

    [Fact]
    public void Write_BufferWriter_MatchesSpanWrite()
    {
        var writer = new ArrayBufferWriter<byte>();
        InternodeFrame.Write(writer, 9, [1, 2]);
        Assert.Equal(Encode(9, [1, 2]), writer.WrittenSpan.ToArray());
    }
}
