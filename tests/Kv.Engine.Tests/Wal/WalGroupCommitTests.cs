using Kv.Engine.IO;
using Kv.Engine.Tests.IO;
using Kv.Engine.Wal;
using static Kv.Engine.Tests.Wal.WalTestData;

namespace Kv.Engine.Tests.Wal;

/// <summary>Group commit: appenders that wait at the same moment share one write and one sync. Counted through a
/// wrapping file system, not timed.</summary>
public class WalGroupCommitTests
{
    private const int Followers = 15;

    private static long FramedLength(int records, int size)
    {
        long position = 0;
        for (var i = 0; i < records; i++) position += LogFormat.EncodedLength(position, size);
        return position;
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var spin = new SpinWait();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached in 30 s");
            spin.SpinOnce(sleep1Threshold: 10);
        }
    }

    [Fact]
    public void Append_WritersWaitingBehindASync_ShareTheNextSync()
    {
        var fs = new CountingFileSystem(NewFs());
        using var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        fs.SyncGate.Reset();
        var returned = 0;
        var leader = new Thread(() => { wal.Append(Payload(0, 100)); Interlocked.Increment(ref returned); });
        leader.Start();
        WaitUntil(() => fs.SyncsStarted == 1);

        var followers = Enumerable.Range(1, Followers).Select(i => new Thread(() =>
        {
            wal.Append(Payload(i, 100));
            Interlocked.Increment(ref returned);
        })).ToList();
        followers.ForEach(t => t.Start());
        // every follower has framed its record: they are all waiting for durability
        WaitUntil(() => wal.Length == FramedLength(Followers + 1, 100));
        Assert.Equal(0, Volatile.Read(ref returned));

        fs.SyncGate.Set();
        leader.Join();
        followers.ForEach(t => t.Join());

        Assert.Equal(Followers + 1, returned);
        Assert.Equal(2, fs.Syncs);   // the leader's, then one for all followers
        Assert.Equal(2, fs.Appends);
        Assert.Equal(2, wal.SyncCount);
        Assert.Equal(Followers + 1, Replay(fs, "/w/1.log").Count);
    }

    [Fact]
    public async Task AppendAsync_TasksWaitingBehindASync_ShareTheNextSync()
    {
        var fs = new CountingFileSystem(NewFs());
        using var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        fs.SyncGate.Reset();
        var leader = Task.Run(() => wal.AppendAsync(Payload(0, 100), CancellationToken.None).AsTask());
        WaitUntil(() => fs.SyncsStarted == 1);

        var followers = Enumerable.Range(1, Followers).Select(i => wal.AppendAsync(Payload(i, 100), CancellationToken.None).AsTask()).ToList();
        Assert.All(followers, t => Assert.False(t.IsCompleted));

        fs.SyncGate.Set();
        await leader;
        await Task.WhenAll(followers);

        Assert.Equal(2, fs.Syncs);
        Assert.Equal(Followers + 1, Replay(fs, "/w/1.log").Count);
    }

    [Fact]
    public void Append_ManyThreadsOnASlowDisk_FewerSyncsThanRecordsAndAllReplayed()
    {
        const int threads = 8, perThread = 40;
        var fs = new CountingFileSystem(NewFs()) { SyncDelay = TimeSpan.FromMilliseconds(1) };
        using (var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions()))
        {
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                for (var i = 0; i < perThread; i++) wal.Append(Payload((t * 1000) + i, 100));
            })).ToList();
            workers.ForEach(t => t.Start());
            workers.ForEach(t => t.Join());
            Assert.True(wal.SyncCount < threads * perThread, $"{wal.SyncCount} syncs for {threads * perThread} records");
        }
        var read = Replay(fs, "/w/1.log").Select(r => Convert.ToHexString(r.Payload)).ToHashSet();
        Assert.Equal(threads * perThread, read.Count);
    }

    [Fact]
    public void Append_SyncFailsForAGroup_EveryWriterOfTheGroupGetsIOException()
    {
        var inner = NewFs();
        var fs = new CountingFileSystem(inner);
        var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        fs.SyncGate.Reset();
        var failures = 0;
        void Write(int i)
        {
            try { wal.Append(Payload(i, 10)); }
            catch (IOException) { Interlocked.Increment(ref failures); }
        }
        var threads = Enumerable.Range(0, 6).Select(i => new Thread(() => Write(i))).ToList();
        threads[0].Start();
        WaitUntil(() => fs.SyncsStarted == 1);
        threads.Skip(1).ToList().ForEach(t => t.Start());
        WaitUntil(() => wal.Length == FramedLength(6, 10));
        inner.Crash(); // the sync in flight now fails: the file's writer is dead
        fs.SyncGate.Set();
        threads.ForEach(t => t.Join());
        Assert.Equal(6, failures);
        Assert.Throws<IOException>(() => wal.Append([1]));
        wal.Dispose();
    }

    [Fact]
    public async Task AppendAsync_WithGroupApplier_AppliesEveryRecordOnceBeforeItsAppenderResumes()
    {
        var fs = new CountingFileSystem(NewFs());
        using var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        var applied = new List<string>();
        var groups = 0;
        wal.GroupApplier = (payloads, ends) =>
        {
            Interlocked.Increment(ref groups);
            var start = 0;
            foreach (var end in ends)
            {
                lock (applied) applied.Add(Convert.ToHexString(payloads[start..end]));
                start = end;
            }
        };
        Assert.True(wal.AppliesAsyncRecords);
        fs.SyncGate.Reset();
        var leader = wal.AppendAsync(Payload(0, 100), CancellationToken.None).AsTask();
        WaitUntil(() => fs.SyncsStarted == 1);
        // Appended while the first sync is held: one group, applied in append order; one of them stops waiting.
        using var cancelled = new CancellationTokenSource();
        var followers = Enumerable.Range(1, Followers).Select(i => wal.AppendAsync(Payload(i, 100 + i), i == 3 ? cancelled.Token : CancellationToken.None).AsTask()).ToList();
        await cancelled.CancelAsync();
        Assert.Empty(applied);
        fs.SyncGate.Set();
        await leader;
        // The second group may be being applied right now, by the next leader: read the list under its lock.
        lock (applied) Assert.Contains(Convert.ToHexString(Payload(0, 100)), applied);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => followers[2]);
        await Task.WhenAll(followers.Where((_, i) => i != 2));
        WaitUntil(() => { lock (applied) return applied.Count == Followers + 1; });

        Assert.Equal(2, Volatile.Read(ref groups));
        // Every record is applied once, the cancelled appender's too (it is durable all the same); a group in append
        // order (the two groups themselves may be applied in either order).
        var expected = Enumerable.Range(0, Followers + 1).Select(i => Convert.ToHexString(Payload(i, i == 0 ? 100 : 100 + i))).ToList();
        Assert.Equal(expected.Order(), applied.Order());
        Assert.Equal(expected.Skip(1), applied.Where(p => p != expected[0]));
        Assert.Equal(expected, Replay(fs, "/w/1.log").Select(r => Convert.ToHexString(r.Payload)).ToList());
    }

    [Fact]
    public async Task AppendAsync_GroupApplierThrows_FailsThatGroupsAppendersAndTheLogGoesOn()
    {
        using var wal = WalWriter.Create(NewFs(), "/w/1.log", new WalOptions());
        var fail = true;
        wal.GroupApplier = (_, _) =>
        {
            if (fail) throw new InvalidOperationException("memtable full");
        };
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => wal.AppendAsync(Payload(0, 10), CancellationToken.None).AsTask());
        Assert.Equal("memtable full", e.Message);
        fail = false;
        await wal.AppendAsync(Payload(1, 10), CancellationToken.None);
    }

    [Fact]
    public async Task AppendAsync_GroupReleased_CountsEachGroupsRecordsAfterItsApplyAndBeforeItsAppendersResume()
    {
        var fs = new CountingFileSystem(NewFs());
        using var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        var applied = 0;
        var releases = new List<(int Count, int AppliedBefore)>();
        wal.GroupApplier = (_, ends) => Interlocked.Add(ref applied, ends.Length);
        wal.GroupReleased = count => { lock (releases) releases.Add((count, Volatile.Read(ref applied))); };
        fs.SyncGate.Reset();
        var leader = wal.AppendAsync(Payload(0, 100), CancellationToken.None).AsTask();
        WaitUntil(() => fs.SyncsStarted == 1);
        var followers = Enumerable.Range(1, Followers).Select(i => wal.AppendAsync(Payload(i, 100), CancellationToken.None).AsTask()).ToList();
        lock (releases) Assert.Empty(releases);
        fs.SyncGate.Set();
        await leader;
        lock (releases) Assert.Equal(1, releases[0].Count); // released before its appender resumed
        await Task.WhenAll(followers);
        lock (releases)
        {
            Assert.Equal([1, Followers], releases.Select(r => r.Count).Order());
            Assert.All(releases, r => Assert.True(r.AppliedBefore >= r.Count, $"released {r.Count} with {r.AppliedBefore} applied"));
        }
    }

    [Fact]
    public async Task AppendAsync_SyncFails_GroupReleasedCountsTheFailedGroupAndTheOneQueuedBehindIt()
    {
        var inner = NewFs();
        var fs = new CountingFileSystem(inner);
        var wal = WalWriter.Create(fs, "/w/1.log", new WalOptions());
        var released = 0;
        wal.GroupApplier = (_, _) => throw new InvalidOperationException("a failed group is never applied");
        wal.GroupReleased = count => Interlocked.Add(ref released, count);
        fs.SyncGate.Reset();
        var first = wal.AppendAsync(Payload(0, 10), CancellationToken.None).AsTask();
        WaitUntil(() => fs.SyncsStarted == 1);
        var queued = Enumerable.Range(1, 4).Select(i => wal.AppendAsync(Payload(i, 10), CancellationToken.None).AsTask()).ToList();
        inner.Crash(); // the sync in flight now fails
        fs.SyncGate.Set();
        await Assert.ThrowsAsync<IOException>(() => first);
        foreach (var task in queued) await Assert.ThrowsAsync<IOException>(() => task);
        Assert.Equal(5, Volatile.Read(ref released));
        Assert.Throws<IOException>(() => wal.AppendAsync(Payload(9, 10), CancellationToken.None)); // refused before any record: nothing to release
        Assert.Equal(5, Volatile.Read(ref released));
        try { wal.Dispose(); } catch (IOException) { }
    }

    [Fact]
    public async Task AppendAsync_GroupApplierThrows_TheGroupIsReleasedAllTheSame()
    {
        using var wal = WalWriter.Create(NewFs(), "/w/1.log", new WalOptions());
        var released = 0;
        wal.GroupApplier = (_, _) => throw new InvalidOperationException("memtable full");
        wal.GroupReleased = count => Interlocked.Add(ref released, count);
        await Assert.ThrowsAsync<InvalidOperationException>(() => wal.AppendAsync(Payload(0, 10), CancellationToken.None).AsTask());
        Assert.Equal(1, Volatile.Read(ref released));
    }

    [Fact]
    public void GroupApplier_PeriodicSync_AsyncRecordsAreTheCallersToApply()
    {
        using var wal = WalWriter.Create(NewFs(), "/w/1.log", new WalOptions { SyncMode = WalSyncMode.Periodic });
        wal.GroupApplier = (_, _) => throw new InvalidOperationException("not called in periodic mode");
        Assert.False(wal.AppliesAsyncRecords);
        Assert.True(wal.AppendAsync(Payload(0, 10), CancellationToken.None).IsCompletedSuccessfully);
    }
}
