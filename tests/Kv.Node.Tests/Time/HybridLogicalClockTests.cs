using Kv.Node.Tests.Support;
using Kv.Node.Time;

namespace Kv.Node.Tests.Time;

public sealed class HybridLogicalClockTests
{
    private sealed class MemoryHighWaterMark : IClockHighWaterMark
    {
        public long Stored { get; private set; }
        public int Stores { get; private set; }
        public long Load() => Stored;
        public void Store(long unixMs)
        {
            Stored = unixMs;
            Stores++;
        }
    }

    [Fact]
    public void Now_WallClockStepsBack_StaysMonotonic()
    {
        var time = new ManualTimeProvider();
        var clock = new HybridLogicalClock(time);
        var a = clock.Now();
        time.Advance(TimeSpan.FromSeconds(-30));
        var b = clock.Now();
        var c = clock.Now();
        Assert.True(b > a);
        Assert.True(c > b);
        Assert.Equal(HybridLogicalClock.PhysicalOf(a), HybridLogicalClock.PhysicalOf(c));
        time.Advance(TimeSpan.FromSeconds(31));
        var d = clock.Now();
        Assert.True(d > c);
        Assert.Equal(0, HybridLogicalClock.LogicalOf(d));
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), HybridLogicalClock.PhysicalOf(d));
    }

    [Fact]
    public void Now_LogicalCounterOverflows_CarriesIntoPhysical()
    {
        var time = new ManualTimeProvider();
        var clock = new HybridLogicalClock(time);
        var first = clock.Now();
        long last = first;
        for (var i = 0; i < 70_000; i++)
        {
            var next = clock.Now();
            Assert.True(next > last);
            last = next;
        }
        Assert.True(HybridLogicalClock.PhysicalOf(last) > HybridLogicalClock.PhysicalOf(first));
    }

    [Fact]
    public void Update_RemoteAhead_JumpsAboveRemote()
    {
        var time = new ManualTimeProvider();
        var clock = new HybridLogicalClock(time);
        var remote = HybridLogicalClock.Pack(time.GetUtcNow().ToUnixTimeMilliseconds() + 5000, 7);
        var merged = clock.Update(remote);
        Assert.True(merged > remote);
        Assert.True(clock.Now() > merged);
        var older = clock.Update(HybridLogicalClock.Pack(1, 0));
        Assert.True(older > merged);
    }

    [Fact]
    public void Now_ManyThreads_AllTimestampsUnique()
    {
        var clock = new HybridLogicalClock(new ManualTimeProvider());
        var all = new long[4][];
        Parallel.For(0, 4, t =>
        {
            var mine = new long[20_000];
            for (var i = 0; i < mine.Length; i++) mine[i] = clock.Now();
            all[t] = mine;
        });
        var flat = all.SelectMany(x => x).ToArray();
        Assert.Equal(flat.Length, flat.Distinct().Count());
        foreach (var mine in all)
        {
            for (var i = 1; i < mine.Length; i++) Assert.True(mine[i] > mine[i - 1]);
        }
    }

    [Fact]
    public void Restart_WallClockBehindPersistedMark_StartsAboveEverythingIssued()
    {
        var time = new ManualTimeProvider();
        var mark = new MemoryHighWaterMark();
        var clock = new HybridLogicalClock(time, mark, TimeSpan.FromSeconds(5));
        long last = 0;
        for (var i = 0; i < 100; i++)
        {
            last = clock.Now();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.True(mark.Stored >= HybridLogicalClock.PhysicalOf(last));
        Assert.True(mark.Stores <= 4); // reserved ahead in windows, not per timestamp

        time.Advance(TimeSpan.FromMinutes(-10)); // the machine restarts with its clock far behind
        var restarted = new HybridLogicalClock(time, mark, TimeSpan.FromSeconds(5));
        Assert.True(restarted.Now() > last);
    }

    [Fact]
    public void FileHighWaterMark_StoreLoad_RoundTripsAndDetectsCorruption()
    {
        var dir = Directory.CreateTempSubdirectory("kv-hlc-");
        try
        {
            var file = new FileClockHighWaterMark(dir.FullName);
            Assert.Equal(0, file.Load());
            file.Store(1_700_000_000_123);
            Assert.Equal(1_700_000_000_123, new FileClockHighWaterMark(dir.FullName).Load());
            var path = Path.Combine(dir.FullName, FileClockHighWaterMark.FileName);
            var bytes = File.ReadAllBytes(path);
            bytes[10] ^= 1;
            File.WriteAllBytes(path, bytes);
            Assert.Throws<InvalidDataException>(() => file.Load());
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
