namespace Kv.Engine.Tests.Db;

/// <summary>The WAL sync histogram: every duration lands in a bucket whose upper bound is at least it and less than a
/// quarter above it, and percentiles come back as those bounds.</summary>
public class LatencyHistogramTests
{
    [Fact]
    public void Buckets_EveryDuration_BoundAtLeastItAndUnderAQuarterAbove_InOrder()
    {
        var previous = 0;
        for (long v = 0; v < 200_000; v++) Check(v);
        for (var e = 18; e < 40; e++)
        {
            Check((1L << e) - 1);
            Check(1L << e);
            Check((1L << e) + (1L << (e - 1)) + 3);
        }

        void Check(long v)
        {
            var bucket = LatencyHistogram.BucketOf(v);
            var upper = LatencyHistogram.UpperBound(bucket);
            Assert.True(upper >= v, $"{v} lands in bucket {bucket} whose bound is {upper}");
            Assert.True(v < 4 ? upper == v : upper < v * 1.25, $"{v}: bound {upper} is a quarter or more above it");
            Assert.True(bucket >= previous, $"{v}: bucket {bucket} before the previous duration's {previous}");
            previous = bucket;
        }
    }

    [Fact]
    public void Percentiles_OneToAThousand_AreTheBucketBoundsAboveTheTrueValues()
    {
        var histogram = new LatencyHistogram();
        Assert.Equal(0, histogram.PercentileMicros(0.99));
        foreach (var v in Enumerable.Range(1, 1000).Reverse()) histogram.Record(v);

        Assert.Equal(1000, histogram.Count);
        Assert.Equal(1000, histogram.MaxMicros);
        Assert.InRange(histogram.PercentileMicros(0.5), 500, 624);
        Assert.InRange(histogram.PercentileMicros(0.9), 900, 1000);
        Assert.Equal(1000, histogram.PercentileMicros(0.99)); // the bucket reaches 1023: capped at the maximum
        Assert.Equal(1000, histogram.PercentileMicros(1));
        Assert.InRange(histogram.PercentileMicros(0.001), 1, 1);
    }

    [Fact]
    public void Record_OutOfRangeAndConcurrent_CountsEveryOne()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        Assert.Equal(0, histogram.PercentileMicros(1));
        histogram.Record(long.MaxValue);
        Assert.Equal(1L << 40, histogram.MaxMicros);
        Parallel.For(0, 4, t =>
        {
            for (var i = 0; i < 10_000; i++) histogram.Record(i % 300);
        });
        Assert.Equal(40_002, histogram.Count);
        Assert.InRange(histogram.PercentileMicros(0.5), 150, 187);
    }
}
