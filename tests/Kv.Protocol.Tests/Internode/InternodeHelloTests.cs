using System.Buffers;
using Kv.Protocol.Internode;

namespace Kv.Protocol.Tests.Internode;

public class InternodeHelloTests
{
    [Fact]
    public void TryRead_WrittenHello_RoundTripsAndConsumesExactly()
    {
        var hello = new InternodeHello("10.1.2.3", 7000);
        var bytes = hello.ToArray().Concat(new byte[] { 0xEE }).ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(InternodeHello.TryRead(ref buffer, out var read));
        Assert.Equal(hello, read);
        Assert.Equal(1, buffer.Length);
        Assert.Equal("KVIN"u8.ToArray(), bytes[..4]);
    }

    [Fact]
    public void TryRead_SplitAtEveryByteBoundary_RoundTrips()
    {
        var bytes = new InternodeHello("node-a.example", 65535).ToArray();
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var prefix = new ReadOnlySequence<byte>(bytes, 0, cut);
            Assert.False(InternodeHello.TryRead(ref prefix, out _));
            var buffer = Segments.Split(bytes, cut);
            Assert.True(InternodeHello.TryRead(ref buffer, out var read));
            Assert.Equal(new InternodeHello("node-a.example", 65535), read);
        }
    }

    [Fact]
    public void TryRead_WrongMagic_ThrowsAsSoonAsTheFirstByteDiffers()
    {
        var buffer = new ReadOnlySequence<byte>("GE"u8.ToArray()); // e.g. an HTTP or RESP client on the peer port
        var e = Assert.Throws<InternodeProtocolException>(() => InternodeHello.TryRead(ref buffer, out _));
        Assert.Equal(InternodeProtocolError.WrongMagic, e.Error);
        Assert.Contains("KVIN", e.Message);
    }

    [Fact]
    public void TryRead_OtherVersion_ThrowsUnsupportedVersion()
    {
        var bytes = new byte[64];
        var length = new InternodeHello("127.0.0.1", 1).Write(bytes, version: 2);
        var buffer = new ReadOnlySequence<byte>(bytes, 0, length);
        var e = Assert.Throws<InternodeProtocolException>(() => InternodeHello.TryRead(ref buffer, out _));
        Assert.Equal(InternodeProtocolError.UnsupportedVersion, e.Error);
        Assert.Contains("version 2", e.Message);
    }

    [Fact]
    public void TryRead_CorruptHost_ThrowsChecksumMismatch()
    {
        var bytes = new InternodeHello("127.0.0.1", 9000).ToArray();
        bytes[9] ^= 0x01;
        var buffer = new ReadOnlySequence<byte>(bytes);
        var e = Assert.Throws<InternodeProtocolException>(() => InternodeHello.TryRead(ref buffer, out _));
        Assert.Equal(InternodeProtocolError.ChecksumMismatch, e.Error);
    }
}
