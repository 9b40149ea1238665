using System.Buffers;
using System.Globalization;
using System.Text;
using Kv.Engine;
using Kv.Engine.IO;
using Kv.Node.Storage;
using Kv.Node.Tests.Support;
using Kv.Node.Time;

namespace Kv.Node.Tests.Storage;

/// <summary>
/// Read-modify-writes of one key on a real engine whose WAL syncs are held back: the next one reads a write that is not
/// durable yet instead of waiting for it (<see cref="PendingWrites"/>), and nothing replies before what it read is durable.
/// </summary>
public sealed class EngineKeyspacePendingTests : IDisposable
{
    private readonly GatedFileSystem _fs = new(new InMemoryFileSystem());
    private readonly Database _db;
    private readonly EngineKeyspace _keyspace;

    public EngineKeyspacePendingTests()
    {
        _db = Database.Open("/db", new EngineOptions { FileSystem = _fs });
        _keyspace = new EngineKeyspace(_db, new HybridLogicalClock(TimeProvider.System), TimeProvider.System);
    }

    public void Dispose()
    {
        _fs.Open();
        _db.Dispose();
    }

    private static ReadOnlyMemory<byte> B(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>INCR as the command layer does it; <paramref name="seen"/> receives the value it read.</summary>
    private ValueTask<bool> Increment(string key, TaskCompletionSource<long> seen) =>
        _keyspace.UpdateValueAsync(B(key), (found, current, next) =>
        {
            var value = found ? long.Parse(Encoding.UTF8.GetString(current), CultureInfo.InvariantCulture) : 0;
            seen.TrySetResult(value);
            next.Write(Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture)));
            return true;
        });

    private async Task<string?> GetAsync(string key)
    {
        var value = new ArrayBufferWriter<byte>();
        return (await _keyspace.GetAsync(B(key), value)).Found ? Encoding.UTF8.GetString(value.WrittenSpan) : null;
    }

    [Fact]
    public async Task Incr_PreviousIncrNotDurableYet_ReadsItsValueAtOnceAndRepliesAfterIt()
    {
        await _keyspace.SetAsync(B("n"), B("10"), 0);
        _fs.Close();

        var firstSeen = new TaskCompletionSource<long>();
        var first = Increment("n", firstSeen).AsTask();
        Assert.Equal(10, await firstSeen.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var secondSeen = new TaskCompletionSource<long>();
        var second = Increment("n", secondSeen).AsTask();
        // The second read the first's 11 while the first still waits for its sync: it did not wait for the lock.
        Assert.Equal(11, await secondSeen.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(first.IsCompleted);
        Assert.Equal("10", await GetAsync("n")); // a plain read sees only what is durable

        await Task.Delay(50);
        Assert.False(second.IsCompleted); // nothing is acknowledged before the sync
        _fs.Open();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("12", await GetAsync("n"));
    }

    [Fact]
    public async Task SetNx_KeyCreatedByAWriteNotDurableYet_RefusedOnlyOnceThatWriteIsDurable()
    {
        _fs.Close();
        var seen = new TaskCompletionSource<long>();
        var incr = Increment("c", seen).AsTask();
        await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var nx = _keyspace.SetAsync(B("c"), B("x"), new SetOptions(SetCondition.IfAbsent, 0, false), null).AsTask();
        await Task.Delay(50);
        // It read the pending "1" and writes nothing, but its "not set" must not reach a client before that "1" is durable.
        Assert.False(nx.IsCompleted);
        _fs.Open();
        var result = await nx.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(result.Written);
        await incr;
        Assert.Equal("1", await GetAsync("c"));
    }

    [Fact]
    public async Task GetDel_ThenIncr_TheIncrStartsFromTheDeletionNotYetDurable()
    {
        await _keyspace.SetAsync(B("d"), B("41"), 0);
        _fs.Close();
        var taken = new ArrayBufferWriter<byte>();
        var getdel = _keyspace.GetAndDeleteAsync(B("d"), taken).AsTask();
        var seen = new TaskCompletionSource<long>();
        var incr = Increment("d", seen).AsTask();
        Assert.Equal(0, await seen.Task.WaitAsync(TimeSpan.FromSeconds(10))); // the key is gone for it already
        Assert.False(getdel.IsCompleted);

        _fs.Open();
        Assert.True((await getdel.WaitAsync(TimeSpan.FromSeconds(10))).Found);
        Assert.Equal("41", Encoding.UTF8.GetString(taken.WrittenSpan));
        await incr.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("1", await GetAsync("d"));
    }

    [Fact]
    public async Task Set_AfterAnIncrNotDurableYet_TheNextIncrAddsToTheSet()
    {
        await _keyspace.SetAsync(B("s"), B("1"), 0);
        _fs.Close();
        var seen = new TaskCompletionSource<long>();
        var incr = Increment("s", seen).AsTask();
        await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var set = _keyspace.SetAsync(B("s"), B("100"), 0).AsTask(); // blind: timestamped after the INCR's write
        var nextSeen = new TaskCompletionSource<long>();
        var next = Increment("s", nextSeen).AsTask();

        _fs.Open();
        await Task.WhenAll(incr, set, next).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(100, await nextSeen.Task); // not the pending 2: the SET is newer
        Assert.Equal("101", await GetAsync("s"));
    }

    [Fact]
    public async Task Incr_PendingWriteFailed_TheIncrThatReadItFailsToo()
    {
        await _keyspace.SetAsync(B("f"), B("5"), 0);
        _fs.Close();
        var seen = new TaskCompletionSource<long>();
        var first = Increment("f", seen).AsTask();
        await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var secondSeen = new TaskCompletionSource<long>();
        var second = Increment("f", secondSeen).AsTask();
        Assert.Equal(6, await secondSeen.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        _fs.Fail(); // the held sync fails: neither INCR may be acknowledged
        await Assert.ThrowsAsync<IOException>(() => first.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<IOException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Incr_PipelinedOnOneConnection_AllHandedOffBeforeTheFirstIsDurableRepliesOnlyAfter()
    {
        // One connection pipelines three INCRs while the WAL's syncs are held: each is handed to the engine without
        // waiting for the one before to be durable (so they can share a group commit), and no reply leaves before the sync.
        await using var server = await TestServer.StartAsync(_keyspace);
        using var client = await server.RawAsync();
        var before = _db.GetStats().GroupedWrites;
        _fs.Close();
        await client.SendAsync(string.Concat(Enumerable.Repeat("*2\r\n$4\r\nINCR\r\n$1\r\np\r\n", 3)));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_db.GetStats().GroupedWrites - before < 3 && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.Equal(3, _db.GetStats().GroupedWrites - before);
        Assert.Equal("", await client.ReceiveRepliesAsync(1, TimeSpan.FromMilliseconds(100)));

        _fs.Open();
        Assert.Equal(":1\r\n:2\r\n:3\r\n", await client.ReceiveRepliesAsync(3));
    }

    /// <summary>Holds every WAL sync while closed; <see cref="Fail"/> makes held and later syncs throw.</summary>
    private sealed class GatedFileSystem(IFileSystem inner) : IFileSystem
    {
        private readonly ManualResetEventSlim _gate = new(true);
        private volatile bool _failing;

        public void Close() => _gate.Reset();
        public void Open() => _gate.Set();

        public void Fail()
        {
            _failing = true;
            _gate.Set();
        }

        public void CreateDirectory(string path) => inner.CreateDirectory(path);
        public bool FileExists(string path) => inner.FileExists(path);
        public bool DirectoryExists(string path) => inner.DirectoryExists(path);
        public IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);
        public long GetFileLength(string path) => inner.GetFileLength(path);
        public void DeleteFile(string path) => inner.DeleteFile(path);
        public void Rename(string from, string to) => inner.Rename(from, to);
        public void SyncDirectory(string directory) => inner.SyncDirectory(directory);
        public void HardLink(string existing, string link) => inner.HardLink(existing, link);
        public IRandomAccessFile OpenRandomAccess(string path) => inner.OpenRandomAccess(path);

        public IWritableFile CreateWritable(string path)
        {
            var file = inner.CreateWritable(path);
            return path.EndsWith(".log", StringComparison.Ordinal) ? new GatedFile(file, this) : file;
        }

        private sealed class GatedFile(IWritableFile inner, GatedFileSystem owner) : IWritableFile
        {
            public long Length => inner.Length;
            public void Append(ReadOnlySpan<byte> data) => inner.Append(data);
            public void Flush() => inner.Flush();

            public void Sync()
            {
                owner._gate.Wait();
                if (owner._failing) throw new IOException("fdatasync failed (injected)");
                inner.Sync();
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
