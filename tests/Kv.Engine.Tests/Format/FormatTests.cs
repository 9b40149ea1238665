using System.Text;
using Kv.Engine.Format;

namespace Kv.Engine.Tests.Format;

public class Crc32CTests
{
    [Fact]
    public void Compute_StandardCheckInput_MatchesPublishedValue()
    {
        // The CRC-32C check value from the Castagnoli/iSCSI specification (RFC 3720, B.4).
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void Compute_32ZeroBytes_MatchesRfc3720Vector()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void Extend_SplitInput_EqualsWholeInput()
    {
        var data = Encoding.ASCII.GetBytes("the quick brown fox jumps over the lazy dog, twice over");
        for (var split = 0; split <= data.Length; split++)
            Assert.Equal(Crc32C.Compute(data), Crc32C.Extend(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
    }

    [Fact]
    public void Mask_Unmask_RoundTripsAndChangesValue()
    {
        var crc = Crc32C.Compute("abc"u8);
        Assert.NotEqual(crc, Crc32C.Mask(crc));
        Assert.Equal(crc, Crc32C.Unmask(Crc32C.Mask(crc)));
    }
}

public class VarintTests
{
    [Theory]
    [InlineData(0UL, 1)]
    [InlineData(127UL, 1)]
    [InlineData(128UL, 2)]
    [InlineData(16383UL, 2)]
    [InlineData(16384UL, 3)]
    [InlineData(ulong.MaxValue, 10)]
    public void Write_TryRead_RoundTrips(ulong value, int expectedLength)
    {
        Span<byte> buf = stackalloc byte[Varint.MaxLength64];
        var n = Varint.Write(buf, value);
        Assert.Equal(expectedLength, n);
        Assert.Equal(n, Varint.Length(value));
        Assert.Equal(n, Varint.TryRead(buf[..n], out ulong back));
        Assert.Equal(value, back);
    }

    [Fact]
    public void TryRead_Truncated_ReturnsZero()
    {
        Assert.Equal(0, Varint.TryRead(new byte[] { 0x80, 0x80 }, out ulong _));
    }

    [Fact]
    public void TryRead32_ValueAbove32Bits_ReturnsZero()
    {
        Span<byte> buf = stackalloc byte[Varint.MaxLength64];
        var n = Varint.Write(buf, (ulong)uint.MaxValue + 1);
        Assert.Equal(0, Varint.TryRead(buf[..n], out uint _));
    }
}

public class InternalKeyTests
{
    private static byte[] Key(string user, long ts, EntryKind kind)
    {
        var bytes = Encoding.ASCII.GetBytes(user);
        var buf = new byte[InternalKey.EncodedLength(bytes.Length)];
        InternalKey.Write(buf, bytes, ts, kind);
        return buf;
    }

    [Fact]
    public void Compare_SameUserKey_HigherTimestampFirst()
    {
        Assert.True(InternalKey.Compare(Key("a", 10, EntryKind.Value), Key("a", 5, EntryKind.Value)) < 0);
    }

    [Fact]
    public void Compare_SameTimestamp_TombstoneFirst()
    {
        Assert.True(InternalKey.Compare(Key("a", 7, EntryKind.Tombstone), Key("a", 7, EntryKind.Value)) < 0);
    }

    [Fact]
    public void Compare_PrefixUserKey_SortsBeforeLongerKeyWhateverTheTimestamp()
    {
        // Bytewise comparison of the whole encoding would get this wrong: "a"+trailer vs "ab"+trailer.
        Assert.True(InternalKey.Compare(Key("a", 0, EntryKind.Value), Key("ab", long.MaxValue, EntryKind.Tombstone)) < 0);
        Assert.True(InternalKey.Compare(Key("", 1, EntryKind.Value), Key("\0", 1, EntryKind.Value)) < 0);
    }

    [Fact]
    public void Accessors_ReturnWhatWasWritten()
    {
        var k = Key("user", -3, EntryKind.Tombstone);
        Assert.Equal("user", Encoding.ASCII.GetString(InternalKey.UserKey(k)));
        Assert.Equal(-3, InternalKey.Timestamp(k));
        Assert.Equal(EntryKind.Tombstone, InternalKey.Kind(k));
    }

    [Fact]
    public void Supersedes_BreaksTiesByKindThenValue()
    {
        Assert.True(InternalKey.Supersedes(2, EntryKind.Value, "a"u8, 1, EntryKind.Tombstone, ""u8));
        Assert.True(InternalKey.Supersedes(1, EntryKind.Tombstone, ""u8, 1, EntryKind.Value, "z"u8));
        Assert.True(InternalKey.Supersedes(1, EntryKind.Value, "b"u8, 1, EntryKind.Value, "a"u8));
        Assert.False(InternalKey.Supersedes(1, EntryKind.Value, "a"u8, 1, EntryKind.Value, "a"u8));
    }
}
