using System.Buffers;
using System.Text;
using Kv.Engine.IO;

namespace Kv.Engine.Tests.Db;

/// <summary>The hot paths allocate nothing once warm: Put (thread's reusable batch, WAL, arena memtable) and
/// TryGet (memtable and table hits, absent keys).</summary>
public class AllocationTests
{
    [Fact]
    public void TryGet_WarmMemtableAndTableHits_AllocatesNothing()
    {
        using var db = Database.Open("/db", new EngineOptions { FileSystem = new InMemoryFileSystem(), MemtableSizeBytes = 4 << 20, BlockCacheBytes = 1 << 20 });
        var keys = new byte[200][];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = Encoding.ASCII.GetBytes($"key-{i:D6}");
            db.Put(keys[i], new byte[100], i + 1);
            if (i == 99) db.Flush(); // half in a table, half in the memtable
        }
        var missing = Encoding.ASCII.GetBytes("key-absent");
        var buffer = new ArrayBufferWriter<byte>(256);
        void ReadAll()
        {
            foreach (var k in keys)
            {
                buffer.ResetWrittenCount();
                Assert.True(db.TryGet(k, buffer, out _, out _, out _));
            }
            Assert.False(db.TryGet(missing, buffer, out _, out _, out _));
        }
        ReadAll(); // warm thread-local scratch and the block cache
        var before = GC.GetAllocatedBytesForCurrentThread();
        ReadAll();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Put_WarmPerWriteWal_AllocatesNothingPerWrite()
    {
        using var db = Database.Open("/db", new EngineOptions { FileSystem = new InMemoryFileSystem(), MemtableSizeBytes = 64 << 20, BlockCacheBytes = 0 });
        var key = new byte[16];
        var value = new byte[100];
        for (var i = 0; i < 2000; i++)
        {
            BitConverter.TryWriteBytes(key, i);
            db.Put(key, value, i + 1);
        }
        // Arena chunks and the in-memory file's growth are amortised buffers allocated now and then; a per-write
        // object would show in every window.
        var silentWindows = 0;
        for (var window = 0; window < 20; window++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 50; i++)
            {
                BitConverter.TryWriteBytes(key, 10_000 + (window * 50) + i);
                db.Put(key, value, 10_000 + (window * 50) + i);
            }
            if (GC.GetAllocatedBytesForCurrentThread() == before) silentWindows++;
        }
        Assert.True(silentWindows >= 15, $"only {silentWindows} of 20 windows of 50 puts allocated nothing");
    }
}
