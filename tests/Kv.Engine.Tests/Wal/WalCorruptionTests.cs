using CsCheck;
using Kv.Engine.Tests.IO;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;
using static Kv.Engine.Tests.Wal.WalTestData;

namespace Kv.Engine.Tests.Wal;

/// <summary>Torn tails are dropped (and logged); damage followed by valid records is a CorruptionException that
/// names the file and the offset.</summary>
public class WalCorruptionTests
{
    private const string Log = "/w/1.log";

    private static (byte[] File, List<byte[]> Payloads, List<long> Offsets) Build(IEnumerable<int> sizes, int seed = 3)
    {
        var fs = NewFs();
        var payloads = Write(fs, Log, sizes, seed);
        var offsets = Replay(fs, Log).Select(r => r.Offset).ToList();
        return (fs.ReadAllBytes(Log), payloads, offsets);
    }

    private static IEnumerable<int> CutPoints(long from, long to)
    {
        // every byte near a fragment boundary or block boundary, a stride elsewhere
        for (var cut = from; cut < to; cut++)
        {
            var inBlock = cut % LogFormat.BlockSize;
            if (cut - from < 64 || to - cut < 64 || inBlock < 64 || inBlock > LogFormat.BlockSize - 64 || cut % 97 == 0)
                yield return (int)cut;
        }
    }

    [Theory]
    [InlineData(100)]
    [InlineData(LogFormat.BlockSize + 1000)]
    public void Replay_LastRecordTruncatedAtEveryPoint_DropsOnlyTheTornRecord(int lastSize)
    {
        var (file, payloads, offsets) = Build([10, 0, 300, 5000, lastSize]);
        var lastStart = offsets[^1];
        foreach (var cut in CutPoints(lastStart, file.Length))
        {
            var fs = FileWith(Log, file.AsSpan(0, cut));
            var logger = new ListLogger();
            var read = Replay(fs, Log, logger);
            Assert.Equal(payloads.Take(4), read.Select(r => r.Payload));
            if (cut > lastStart) Assert.True(logger.Contains(LogLevel.Warning, "torn tail"), $"cut at {cut} was not logged");
        }
    }

    [Fact]
    public void Replay_ZeroPaddingAfterLastRecord_IsIgnored()
    {
        var (file, payloads, _) = Build([10, 70_000, 33]);
        foreach (var padding in new[] { 1, 6, 7, 4096 - (file.Length % 4096), 100_000 })
        {
            var padded = file.Concat(new byte[padding]).ToArray();
            var logger = new ListLogger();
            Assert.Equal(payloads, Replay(FileWith(Log, padded), Log, logger).Select(r => r.Payload));
        }
    }

    [Fact]
    public void Replay_GarbageAfterLastRecord_IsDroppedAsTornTail()
    {
        var (file, payloads, _) = Build([10, 20]);
        // Garbage whose first bytes read as a plausible fragment (a known type, a length that ends inside the garbage)
        // followed by bytes other than zeros is what a damaged length field looks like, and the reader rightly reports
        // it as corruption (Replay_LengthFieldDamagedInTheLastBlock_ThrowsCorruptionNotTornTail): not a torn tail. About
        // one sample in 10,000 drew that shape, which failed this test in about one run in a hundred.
        static bool LooksLikeDamagedLength(byte[] g)
        {
            if (g.Length < LogFormat.HeaderSize || g[6] is 0 or > LogFormat.MaxType) return false;
            var claimedEnd = LogFormat.HeaderSize + (g[4] | (g[5] << 8));
            return claimedEnd < g.Length && g.AsSpan(claimedEnd).ContainsAnyExcept((byte)0);
        }
        Gen.Byte.Array[1, 300].Where(g => !LooksLikeDamagedLength(g)).Sample(garbage =>
        {
            var logger = new ListLogger();
            var read = Replay(FileWith(Log, file.Concat(garbage).ToArray()), Log, logger);
            Assert.Equal(payloads, read.Select(r => r.Payload));
        }, iter: 200);
    }

    [Fact]
    public void Replay_ByteFlippedInAMiddleRecord_ThrowsCorruptionAtThatRecord()
    {
        var (file, _, offsets) = Build(Enumerable.Range(0, 30).Select(i => 20 + (i * 37)));
        Gen.Select(Gen.Int[0, 28], Gen.Int[0, int.MaxValue], Gen.Byte[1, 255]).Sample((record, position, mask) =>
        {
            var start = offsets[record];
            var end = offsets[record + 1];
            var at = start + (position % (end - start));
            var damaged = (byte[])file.Clone();
            damaged[at] ^= mask;
            var e = Assert.Throws<CorruptionException>(() => Replay(FileWith(Log, damaged), Log));
            Assert.Equal(Log, e.FilePath);
            Assert.Equal(start, e.Offset);
            Assert.Contains(Log, e.Message);
        }, iter: 300);
    }

    [Fact]
    public void Replay_FirstRecordsLengthGrownPastTheLastRecordsStart_ThrowsCorruptionNotTornTail()
    {
        // CsCheck seed eDz9Onckr-S2: a flip in the high byte of the first record's length claimed 16 KB, no record
        // started after that, and the reader dropped the whole log as a torn tail: 30 records silently lost.
        var (file, _, offsets) = Build(Enumerable.Range(0, 30).Select(i => 20 + (i * 37)));
        var damaged = (byte[])file.Clone();
        damaged[5] ^= 63; // length is bytes 4-5, little-endian
        var e = Assert.Throws<CorruptionException>(() => Replay(FileWith(Log, damaged), Log));
        Assert.Equal(offsets[0], e.Offset);
        Assert.Contains("length field", e.Message);
    }

    [Fact]
    public void Replay_DamageInOneBlockWithValidRecordsInTheNext_ThrowsCorruption()
    {
        var (file, _, offsets) = Build([100, 60_000, 100, 100]);
        // a fragment of the large record that sits in the second block
        var at = LogFormat.BlockSize + 100;
        file[at] ^= 0x10;
        var e = Assert.Throws<CorruptionException>(() => Replay(FileWith(Log, file), Log));
        Assert.InRange(e.Offset, offsets[1], offsets[2] - 1);
    }

    [Fact]
    public void Replay_LengthFieldDamagedInTheLastBlock_ThrowsCorruptionNotTornTail()
    {
        var (file, _, offsets) = Build([100, 100, 100]);
        // length of the first record: now longer than the block, yet two valid records follow in the same block
        file[offsets[0] + 5] = 0xFF;
        var e = Assert.Throws<CorruptionException>(() => Replay(FileWith(Log, file), Log));
        Assert.Equal(offsets[0], e.Offset);
    }

    [Fact]
    public void Replay_LastRecordDamaged_IsDroppedAsTornTail()
    {
        var (file, payloads, offsets) = Build([100, 100, 100]);
        file[offsets[2] + 20] ^= 0x01;
        var logger = new ListLogger();
        Assert.Equal(payloads.Take(2), Replay(FileWith(Log, file), Log, logger).Select(r => r.Payload));
        Assert.True(logger.Contains(LogLevel.Warning, "torn tail"));
    }

    [Fact]
    public void Replay_DamagedLastRecordWhosePayloadLooksLikeLogData_IsATornTailNotCorruption()
    {
        // the last payload carries a well-formed fragment inside it (a user value that is itself a log)
        var inner = new byte[LogFormat.EncodedLength(0, 50)];
        LogFormat.Encode(0, Payload(9, 50), inner);
        var payload = Payload(1, 30).Concat(inner).Concat(Payload(2, 30)).ToArray();
        var fs = NewFs();
        using (var wal = WalWriter.Create(fs, Log, new WalOptions()))
        {
            wal.Append([1, 2, 3]);
            wal.Append(payload);
        }
        var file = fs.ReadAllBytes(Log);
        file[^5] ^= 0x40; // checksum mismatch of the last record
        var read = Replay(FileWith(Log, file), Log);
        Assert.Equal([1, 2, 3], Assert.Single(read).Payload);
    }

    [Fact]
    public void Replay_HandlerSeesOffsetsFromTheWriter()
    {
        var (file, _, offsets) = Build([0, 1, LogFormat.BlockSize * 2, 7]);
        Assert.Equal(0, offsets[0]);
        Assert.Equal(LogFormat.HeaderSize, offsets[1]);
        Assert.Equal((2 * LogFormat.HeaderSize) + 1, offsets[2]);
        Assert.True(file.Length > offsets[3]);
    }
}
