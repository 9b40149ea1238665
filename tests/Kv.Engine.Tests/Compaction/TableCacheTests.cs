using System.Text;
using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Sstable;

namespace Kv.Engine.Tests.Compaction;

public class TableCacheTests
{
    private static InMemoryFileSystem Tables(int count)
    {
        var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/db");
        for (var n = 1; n <= count; n++)
        {
            using var file = fs.CreateWritable(FileNames.TableFile("/db", (ulong)n));
            using var builder = new TableBuilder(file, new TableOptions());
            var key = new byte[InternalKey.EncodedLength(8)];
            InternalKey.Write(key, Encoding.UTF8.GetBytes($"table-{n:D2}"), n, EntryKind.Value);
            var value = new byte[EntryValue.EncodedLength(0, 1)];
            EntryValue.Write(value, 0, [(byte)n]);
            builder.Add(key, value);
            builder.Finish();
            file.Sync();
        }
        return fs;
    }

    [Fact]
    public void Acquire_PastCapacity_ClosesLeastRecentlyUsed()
    {
        using var cache = new TableCache(Tables(4), "/db", capacity: 2);
        cache.Acquire(1).Dispose();
        cache.Acquire(2).Dispose();
        cache.Acquire(1).Dispose(); // 2 is now the least recently used
        cache.Acquire(3).Dispose();
        Assert.Equal(2, cache.OpenCount);
        Assert.Equal(3, cache.Misses);
        Assert.Equal(1, cache.Hits);

        cache.Acquire(1).Dispose(); // still open
        Assert.Equal(2, cache.Hits);
        cache.Acquire(2).Dispose(); // was closed: reopened
        Assert.Equal(4, cache.Misses);
    }

    [Fact]
    public void Acquire_AllLeased_RunsOverCapacityThenShrinks()
    {
        using var cache = new TableCache(Tables(3), "/db", capacity: 1);
        var a = cache.Acquire(1);
        var b = cache.Acquire(2);
        var c = cache.Acquire(3);
        Assert.Equal(3, cache.OpenCount);
        Assert.Equal(1UL, a.Reader.FileNumber);
        Assert.Equal(2UL, b.Reader.FileNumber);
        a.Dispose();
        b.Dispose();
        Assert.Equal(1, cache.OpenCount);
        var it = c.Reader.NewIterator();
        it.SeekToFirst();
        Assert.True(it.Valid);
        it.Dispose();
        c.Dispose();
        Assert.Equal(1, cache.OpenCount);
    }

    [Fact]
    public void Evict_WhileLeased_ReaderStaysUsableUntilReleased()
    {
        using var cache = new TableCache(Tables(1), "/db", capacity: 4);
        var lease = cache.Acquire(1);
        cache.Evict(1);
        Assert.Equal(0, cache.OpenCount);
        var found = lease.Reader.TryGetNewest(Encoding.UTF8.GetBytes("table-01"), out var ts, out _, new System.Buffers.ArrayBufferWriter<byte>());
        Assert.True(found);
        Assert.Equal(1, ts);
        lease.Dispose();
        cache.Acquire(1).Dispose();
        Assert.Equal(2, cache.Misses);
    }

    [Fact]
    public void Acquire_MissingTable_ThrowsAndCachesNothing()
    {
        using var cache = new TableCache(Tables(1), "/db", capacity: 4);
        Assert.ThrowsAny<Exception>(() => cache.Acquire(99));
        Assert.Equal(0, cache.OpenCount);
    }
}
