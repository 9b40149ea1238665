using Kv.Engine.IO;

namespace Kv.Engine.Tests.IO;

/// <summary>The WAL's raw file: preallocation keeps zeros written ahead of the appends without ever writing over them,
/// and a closed file is exactly what was appended.</summary>
public class PosixWritableFileTests
{
    private static PosixWritableFile? Create(string path, bool direct, long preallocate)
    {
        var file = PosixWritableFile.TryCreate(path, direct, out _, preallocate);
        if (file is null && direct) file = PosixWritableFile.TryCreate(path, direct: false, out _, preallocate);
        return file;
    }

    [Theory]
    [InlineData(true, 8 * 1024)]       // appends outrun the filler all the time: both take turns extending the file
    [InlineData(false, 8 * 1024)]
    [InlineData(true, 1024 * 1024)]
    [InlineData(false, 1024 * 1024)]
    [InlineData(true, 0)]
    public void AppendFlushSync_RandomSizes_FileHoldsTheAppendsThenZerosAndClosesAtTheLogicalLength(bool direct, long preallocate)
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("f.log");
        var random = new Random(unchecked((int)preallocate) + (direct ? 1 : 0));
        var expected = new MemoryStream();
        using (var file = Create(path, direct, preallocate)!)
        {
            for (var i = 0; i < 400; i++)
            {
                var chunk = new byte[random.Next(4) == 0 ? random.Next(1, 70_000) : random.Next(1, 600)];
                random.NextBytes(chunk);
                file.Append(chunk);
                expected.Write(chunk);
                switch (random.Next(3))
                {
                    case 0: file.Flush(); break;
                    case 1: file.Sync(); break;
                }
                if (i % 50 == 49)
                {
                    file.Sync();
                    var onDisk = File.ReadAllBytes(path);
                    Assert.True(onDisk.Length >= expected.Length, $"file {onDisk.Length} < appended {expected.Length}");
                    Assert.True(onDisk.AsSpan(0, (int)expected.Length).SequenceEqual(expected.ToArray()), $"content differs after {i + 1} appends");
                    Assert.False(onDisk.AsSpan((int)expected.Length).ContainsAnyExcept((byte)0), "bytes after the appends are not all zeros");
                }
            }
            Assert.Equal(expected.Length, file.Length);
        }
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
    }

    [Fact]
    public void Preallocate_KeepsAtLeastHalfTheDistanceAhead()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("f.log");
        const int Ahead = 256 * 1024;
        using var file = Create(path, direct: true, Ahead)!;
        var data = new byte[3000];
        for (var i = 0; i < 500; i++)
        {
            file.Append(data);
            file.Sync();
        }
        // the filler runs on the thread pool: wait for it (generous deadline; only a filler that never catches up fails)
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (file.PreallocatedEnd - file.Length < Ahead / 2 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.True(file.PreallocatedEnd - file.Length >= Ahead / 2, $"zeroed to {file.PreallocatedEnd}, appended {file.Length}");
        Assert.True(new FileInfo(path).Length >= file.PreallocatedEnd);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Append_FillStillQueued_AppendsDoNotWaitAndTheLateFillCoversTheLatestEnd(bool direct)
    {
        // a busy thread pool: the filler's work item has not run yet while the appends go on
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("f.log");
        const int Ahead = 64 * 1024;
        var queued = new List<Action>();
        var file = PosixWritableFile.TryCreate(path, direct, out _, Ahead, queued.Add)
                   ?? PosixWritableFile.TryCreate(path, direct: false, out _, Ahead, queued.Add)!;
        using (file)
        {
            Assert.Single(queued); // the first fill, queued at creation
            var expected = new MemoryStream();
            var data = new byte[5000];
            for (var i = 0; i < 100; i++) // 500 KB, far past the first fill's reach: appends claim the space themselves
            {
                data.AsSpan().Fill((byte)(i + 1));
                file.Append(data);
                expected.Write(data);
                file.Sync();
            }
            Assert.Single(queued); // still only the one fill, not yet run
            queued[0]();
            Assert.True(file.PreallocatedEnd - file.Length >= Ahead / 2, $"zeroed to {file.PreallocatedEnd}, appended {file.Length}");
            var onDisk = File.ReadAllBytes(path);
            Assert.True(onDisk.AsSpan(0, (int)expected.Length).SequenceEqual(expected.ToArray()));
            Assert.False(onDisk.AsSpan((int)expected.Length).ContainsAnyExcept((byte)0));
        }
        Assert.Equal(100 * 5000, new FileInfo(path).Length);
    }

    [Fact]
    public void Dispose_FillStillQueued_TheLateFillLeavesTheClosedFileAlone()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("f.log");
        var queued = new List<Action>();
        var file = PosixWritableFile.TryCreate(path, direct: false, out _, 64 * 1024, queued.Add)!;
        file.Append(new byte[100]);
        file.Sync();
        file.Dispose();
        foreach (var fill in queued) fill(); // runs after close: must not write (the descriptor may be reused)
        Assert.Equal(100, new FileInfo(path).Length);
    }
}
