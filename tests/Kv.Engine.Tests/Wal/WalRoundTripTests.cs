using CsCheck;
using Kv.Engine.Wal;
using static Kv.Engine.Tests.Wal.WalTestData;

namespace Kv.Engine.Tests.Wal;

public class WalRoundTripTests
{
    private static readonly Gen<int> GenSize = Gen.Frequency(
        (6, Gen.Int[0, 200]),
        (3, Gen.Int[0, 3 * LogFormat.BlockSize]),
        (1, Gen.Const(0)),
        (1, Gen.Int[LogFormat.BlockSize - 20, LogFormat.BlockSize + 20]));

    [Fact]
    public void AppendReplay_RandomSizes_ReturnsEveryRecordInOrderWithItsOffset()
    {
        Gen.Select(GenSize.List[0, 40], Gen.Int).Sample((sizes, seed) =>
        {
            var fs = NewFs();
            var written = Write(fs, "/w/1.log", sizes, seed);
            var read = Replay(fs, "/w/1.log");
            Assert.Equal(written.Count, read.Count);
            long previous = -1;
            for (var i = 0; i < written.Count; i++)
            {
                Assert.Equal(written[i], read[i].Payload);
                Assert.True(read[i].Offset > previous);
                previous = read[i].Offset;
            }
            if (read.Count > 0) Assert.Equal(0, read[0].Offset);
        }, iter: 60);
    }

    [Fact]
    public void AppendReplay_OneMebibyteRecords_RoundTrip()
    {
        var fs = NewFs();
        var written = Write(fs, "/w/1.log", [1 << 20, 5, 1 << 20, 0]);
        var read = Replay(fs, "/w/1.log");
        Assert.Equal(written, read.Select(r => r.Payload));
    }

    [Fact]
    public void Encode_EveryStartPositionNearABlockEnd_FragmentsDecodeBack()
    {
        // positions that leave 0..8 bytes in the block exercise the trailer rule and empty FIRST fragments
        for (var leftover = 0; leftover <= 9; leftover++)
        {
            foreach (var size in new[] { 0, 1, 6, 7, 100, LogFormat.BlockSize })
            {
                var fs = NewFs();
                var filler = LogFormat.BlockSize - LogFormat.HeaderSize - leftover;
                var written = Write(fs, "/w/1.log", [filler, size, 3]);
                Assert.Equal(written, Replay(fs, "/w/1.log").Select(r => r.Payload));
                var end = LogFormat.EncodedLength(0, filler) + LogFormat.EncodedLength(LogFormat.EncodedLength(0, filler), size);
                // a record that would start in a block trailer starts at the next block
                var expected = LogFormat.BlockSize - (end % LogFormat.BlockSize) < LogFormat.HeaderSize
                    ? end + LogFormat.BlockSize - (end % LogFormat.BlockSize)
                    : end;
                Assert.Equal(expected, Replay(fs, "/w/1.log")[2].Offset);
            }
        }
    }

    [Fact]
    public void Length_AfterDispose_EqualsFileLength()
    {
        var fs = NewFs();
        long length;
        using (var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions()))
        {
            wal.Append(new byte[50_000]);
            wal.Append([]);
            length = wal.Length;
        }
        Assert.Equal(length, fs.GetFileLength("/w/1.log"));
        Assert.Equal(length, fs.GetSyncedLength("/w/1.log"));
    }

    [Fact]
    public async Task AppendAsync_ManyTasks_AllRecordsDurableAndReplayed()
    {
        var fs = NewFs();
        using (var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions()))
        {
            var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
            {
                await wal.AppendAsync(Payload(i, i % 300), CancellationToken.None);
                Assert.True(fs.GetSyncedLength("/w/1.log") > 0);
            }));
            await Task.WhenAll(tasks);
            Assert.Equal(wal.Length, fs.GetSyncedLength("/w/1.log"));
        }
        var read = Replay(fs, "/w/1.log").Select(r => Convert.ToHexString(r.Payload)).ToHashSet();
        Assert.Equal(200, read.Count);
        for (var i = 0; i < 200; i++) Assert.Contains(Convert.ToHexString(Payload(i, i % 300)), read);
    }

    [Fact]
    public void Periodic_TimerTick_SyncsBufferedRecords()
    {
        var fs = NewFs();
        var clock = new ManualTimeProvider();
        using var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions
        {
            SyncMode = WalSyncMode.Periodic,
            PeriodicSyncInterval = TimeSpan.FromMilliseconds(100),
            TimeProvider = clock,
        });
        wal.Append([1, 2, 3]);
        Assert.Equal(0, fs.GetSyncedLength("/w/1.log"));
        clock.Fire();
        Assert.Equal(wal.Length, fs.GetSyncedLength("/w/1.log"));
        Assert.Equal(1, wal.SyncCount);
        clock.Fire(); // nothing new: no sync
        Assert.Equal(1, wal.SyncCount);
    }

    [Fact]
    public void Append_AfterDispose_ThrowsObjectDisposed()
    {
        var fs = NewFs();
        var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        wal.Dispose();
        wal.Dispose();
        Assert.Throws<ObjectDisposedException>(() => wal.Append([1]));
    }

    [Fact]
    public void Append_AfterFailedSync_EveryLaterAppendThrows()
    {
        var fs = NewFs();
        var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        wal.Append([1]);
        fs.Crash(); // the writer's file is gone
        var first = Assert.Throws<IOException>(() => wal.Append([2]));
        Assert.Contains("/w/1.log", first.Message);
        Assert.Throws<IOException>(() => wal.Append([3]));
        wal.Dispose();
    }

    [Fact]
    public void Create_OnInMemoryFileSystem_MakesTheLogSurviveACrash()
    {
        var fs = NewFs();
        var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        wal.Append([42]);
        fs.Crash();
        Assert.Equal([42], Assert.Single(Replay(fs, "/w/1.log")).Payload);
        Assert.False(wal.IsDirectIO);
    }
}
