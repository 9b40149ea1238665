using Kv.Engine.IO;
using Kv.Engine.Tests.IO;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;
using static Kv.Engine.Tests.Wal.WalTestData;

namespace Kv.Engine.Tests.Wal;

/// <summary>The WAL on a real directory: O_DIRECT where the file system accepts it, buffered + fdatasync where not,
/// and which one is used is reported.</summary>
public class WalDirectIOTests
{
    /// <summary>The file system type of <paramref name="path"/> from /proc/self/mountinfo (longest mount point prefix).</summary>
    private static string FileSystemType(string path)
    {
        var full = Path.GetFullPath(path);
        var best = ("", "?");
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var parts = line.Split(' ');
            var mount = parts[4].Replace("\\040", " ", StringComparison.Ordinal);
            var type = parts[Array.IndexOf(parts, "-") + 1];
            var prefix = mount.EndsWith('/') ? mount : mount + "/";
            if ((full == mount || full.StartsWith(prefix, StringComparison.Ordinal)) && mount.Length >= best.Item1.Length) best = (mount, type);
        }
        return best.Item2;
    }

    private static WalWriter Open(string path, bool direct, ILogger? logger, WalSyncMode mode = WalSyncMode.PerWrite,
                                  long preallocate = WalOptions.DefaultPreallocateBytes) =>
        WalWriter.Create(LocalFileSystem.Instance, path, new WalOptions
        {
            UseDirectIO = direct,
            Logger = logger,
            SyncMode = mode,
            PreallocateBytes = preallocate,
        });

    [Fact]
    public void Create_RealDirectory_ReportsTheModeTheFileSystemAllows()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var logger = new ListLogger();
        using var wal = Open(dir.File("000001.log"), direct: true, logger);
        var type = FileSystemType(dir.Path);
        if (type is "ext4" or "xfs" or "btrfs")
            Assert.True(wal.IsDirectIO, $"{type} accepts O_DIRECT but the WAL reports: {wal.IOMode}");
        if (!wal.IsDirectIO)
            Assert.Contains("O_DIRECT not used", wal.IOMode);
        Assert.True(logger.Contains(LogLevel.Information, wal.IsDirectIO ? "O_DIRECT" : "buffered writes"));
    }

    [Fact]
    public void Create_Tmpfs_ReportsWhichModeItGot()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/dev/shm") || FileSystemType("/dev/shm") != "tmpfs") return;
        using var dir = new TestDirectory("/dev/shm");
        var logger = new ListLogger();
        var path = dir.File("000001.log");
        var written = new List<byte[]>();
        using (var wal = Open(path, direct: true, logger))
        {
            // tmpfs refuses O_DIRECT on kernels before 6.6 (EINVAL) and accepts it after; either way the log says which
            Assert.True(logger.Contains(LogLevel.Information, wal.IsDirectIO ? "O_DIRECT," : "O_DIRECT not used"), wal.IOMode);
            for (var i = 0; i < 20; i++) { written.Add(Payload(i, i * 333)); wal.Append(written[^1]); }
        }
        Assert.Equal(written, Replay(LocalFileSystem.Instance, path).Select(r => r.Payload));
    }

    [Fact]
    public void Create_DirectIODisabled_UsesBufferedWritesAndSaysWhy()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var logger = new ListLogger();
        using var wal = Open(dir.File("000001.log"), direct: false, logger);
        Assert.False(wal.IsDirectIO);
        Assert.Contains("disabled by the options", wal.IOMode);
        Assert.True(logger.Contains(LogLevel.Information, "buffered writes, fdatasync"));
    }

    [Theory]
    [InlineData(true, WalSyncMode.PerWrite)]
    [InlineData(false, WalSyncMode.PerWrite)]
    [InlineData(true, WalSyncMode.Periodic)]
    [InlineData(false, WalSyncMode.Periodic)]
    public void AppendDispose_RandomSizes_RoundTripAndFileHasLogicalLength(bool direct, WalSyncMode mode)
    {
        using var dir = new TestDirectory();
        var path = dir.File("000001.log");
        var random = new Random(17);
        var written = new List<byte[]>();
        long length;
        using (var wal = Open(path, direct, null, mode))
        {
            foreach (var size in new[] { 0, 1, 100, 4089, 4096, 5000, 1 << 20, 33_000, 7, 2_500_000 })
            {
                written.Add(Payload(random.Next(), size));
                wal.Append(written[^1]);
            }
            length = wal.Length;
        }
        Assert.Equal(length, new FileInfo(path).Length);
        Assert.Equal(written, Replay(LocalFileSystem.Instance, path).Select(r => r.Payload));
    }

    [Fact]
    public void Append_PeriodicDirectIO_KeepsRecordsInMemoryUntilTheTimer()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("000001.log");
        var clock = new ManualTimeProvider();
        using var wal = WalWriter.Create(LocalFileSystem.Instance, path, new WalOptions
        {
            SyncMode = WalSyncMode.Periodic,
            PeriodicSyncInterval = TimeSpan.FromSeconds(1),
            TimeProvider = clock,
            PreallocateBytes = 0, // the file's length shows what was written
        });
        if (!wal.IsDirectIO) return;
        wal.Append(Payload(1, 100));
        wal.Append(Payload(2, 100));
        Assert.Equal(0, new FileInfo(path).Length);
        clock.Fire();
        Assert.Equal(4096, new FileInfo(path).Length);
        Assert.Equal(1, wal.SyncCount);
        var copy = dir.File("copy.log");
        File.Copy(path, copy);
        Assert.Equal([Payload(1, 100), Payload(2, 100)], Replay(LocalFileSystem.Instance, copy).Select(r => r.Payload));
    }

    [Fact]
    public void Append_DirectIO_RewritesTheTailSectorAndPadsWithZeros()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("000001.log");
        using var wal = Open(path, direct: true, null, preallocate: 0); // the file's length shows the padding
        if (!wal.IsDirectIO) return; // covered by the buffered tests
        var written = new List<byte[]>();
        for (var i = 0; i < 3; i++)
        {
            written.Add(Payload(i, 100));
            wal.Append(written[^1]);
            // while open the file is whole sectors: the logical end is followed by zeros up to the sector end
            Assert.Equal(4096, new FileInfo(path).Length);
            var copy = dir.File("copy.log");
            File.Copy(path, copy, overwrite: true);
            var logger = new ListLogger();
            Assert.Equal(written, Replay(LocalFileSystem.Instance, copy, logger).Select(r => r.Payload));
            Assert.True(logger.Contains(LogLevel.Information, "zero bytes"));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Append_Preallocated_ACrashImageWithTheZerosAheadReplaysEveryRecord(bool direct)
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TestDirectory();
        var path = dir.File("000001.log");
        var written = new List<byte[]>();
        using var wal = Open(path, direct, null, preallocate: 64 * 1024);
        Assert.Contains("zeros written 64 KiB ahead", wal.IOMode);
        for (var i = 0; i < 300; i++)
        {
            written.Add(Payload(i, 100 + (i * 37 % 900)));
            wal.Append(written[^1]);
        }
        // the file runs ahead of the log (the filler is asynchronous: wait for it, up to a generous deadline)
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (new FileInfo(path).Length < wal.Length + 32 * 1024 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.True(new FileInfo(path).Length >= wal.Length + 32 * 1024, $"file {new FileInfo(path).Length}, log {wal.Length}");
        // a copy is what a crash leaves: the records, then zeros, which end the log like sector padding
        var copy = dir.File("copy.log");
        File.Copy(path, copy);
        var logger = new ListLogger();
        Assert.Equal(written, Replay(LocalFileSystem.Instance, copy, logger).Select(r => r.Payload));
        Assert.True(logger.Contains(LogLevel.Information, "zero bytes"));
    }
}
