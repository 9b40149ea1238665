using Kv.Protocol.Buffers;

namespace Kv.Protocol.Tests.Buffers;

public sealed class PooledBufferWriterTests
{
    [Fact]
    public void GetSpan_HugeValue_ArrayIsItsSizeNotTheNextPowerOfTwo()
    {
        using var writer = new PooledBufferWriter();
        writer.GetSpan(5)[..5].Fill(1);
        writer.Advance(5);
        const int value = 3_000_000; // the shared pool would hand out 4 MiB

        var span = writer.GetSpan(value);

        Assert.InRange(span.Length, value, value + 4096);
        span[..value].Fill(2);
        writer.Advance(value);
        Assert.Equal(value + 5, writer.WrittenCount);
        Assert.Equal(1, writer.WrittenSpan[4]);
        Assert.Equal(2, writer.WrittenSpan[5]);
    }

    [Fact]
    public void Reset_AfterAHugeValue_LetsTheLargeArrayGo()
    {
        using var writer = new PooledBufferWriter();
        writer.GetSpan(3_000_000);
        writer.Advance(3_000_000);

        writer.Reset();

        Assert.Equal(0, writer.WrittenCount);
        Assert.True(writer.GetSpan().Length < 1024 * 1024, "the buffer went back to a small one");
    }

    [Fact]
    public void Write_ManySmallPieces_KeepsThemInOrderAcrossGrowth()
    {
        using var writer = new PooledBufferWriter(16);
        for (var i = 0; i < 100_000; i++)
        {
            writer.GetSpan(1)[0] = (byte)i;
            writer.Advance(1);
        }

        Assert.Equal(100_000, writer.WrittenCount);
        for (var i = 0; i < 100_000; i += 997) Assert.Equal((byte)i, writer.WrittenSpan[i]);
    }
}
