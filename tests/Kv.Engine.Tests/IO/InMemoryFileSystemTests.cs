using Kv.Engine.IO;

namespace Kv.Engine.Tests.IO;

public class InMemoryFileSystemTests
{
    private static InMemoryFileSystem NewFs()
    {
        var fs = new InMemoryFileSystem();
        fs.CreateDirectory("/d");
        return fs;
    }

    private static void Write(IFileSystem fs, string path, byte[] data, bool sync, bool syncDirectory)
    {
        using var f = fs.CreateWritable(path);
        f.Append(data);
        if (sync) f.Sync();
        if (syncDirectory) fs.SyncDirectory(Path.GetDirectoryName(path)!);
    }

    [Fact]
    public void Crash_UnsyncedBytes_AreDroppedSyncedBytesKept()
    {
        var fs = NewFs();
        var f = fs.CreateWritable("/d/a");
        fs.SyncDirectory("/d");
        f.Append([1, 2, 3]);
        f.Sync();
        f.Append([4, 5]);
        Assert.Equal(5, fs.GetFileLength("/d/a"));
        Assert.Equal(3, fs.GetSyncedLength("/d/a"));

        fs.Crash();

        Assert.Equal([1, 2, 3], fs.ReadAllBytes("/d/a"));
    }

    [Fact]
    public void Crash_WriterOpenedBefore_ThrowsIOExceptionAfter()
    {
        var fs = NewFs();
        var f = fs.CreateWritable("/d/a");
        fs.Crash();
        Assert.Throws<IOException>(() => f.Append([1]));
        Assert.Throws<IOException>(() => f.Sync());
        f.Dispose();
    }

    [Fact]
    public void Crash_CreateWithoutDirectorySync_FileVanishesEvenIfSynced()
    {
        var fs = NewFs();
        Write(fs, "/d/a", [1, 2], sync: true, syncDirectory: false);
        fs.Crash();
        Assert.False(fs.FileExists("/d/a"));
        Assert.Empty(fs.ListFiles("/d"));
    }

    [Fact]
    public void Crash_RenameAndDeleteWithoutDirectorySync_AreUndone()
    {
        var fs = NewFs();
        Write(fs, "/d/a", [1], sync: true, syncDirectory: true);
        Write(fs, "/d/b", [2], sync: true, syncDirectory: true);
        fs.Rename("/d/a", "/d/c");
        fs.DeleteFile("/d/b");
        Assert.Equal(["c"], fs.ListFiles("/d"));

        fs.Crash();

        Assert.Equal(["a", "b"], fs.ListFiles("/d"));
        Assert.Equal([1], fs.ReadAllBytes("/d/a"));
        Assert.Equal([2], fs.ReadAllBytes("/d/b"));
    }

    [Fact]
    public void Crash_RenameOverExistingThenDirectorySync_KeepsNewContent()
    {
        var fs = NewFs();
        Write(fs, "/d/CURRENT", [1], sync: true, syncDirectory: true);
        Write(fs, "/d/tmp", [2], sync: true, syncDirectory: false);
        fs.Rename("/d/tmp", "/d/CURRENT");
        fs.SyncDirectory("/d");

        fs.Crash();

        Assert.Equal(["CURRENT"], fs.ListFiles("/d"));
        Assert.Equal([2], fs.ReadAllBytes("/d/CURRENT"));
    }

    [Fact]
    public void HardLink_SharesContent_AndSurvivesDeleteOfOriginal()
    {
        var fs = NewFs();
        Write(fs, "/d/a", [7, 8], sync: true, syncDirectory: true);
        fs.HardLink("/d/a", "/d/b");
        fs.DeleteFile("/d/a");
        fs.SyncDirectory("/d");
        fs.Crash();
        Assert.Equal([7, 8], fs.ReadAllBytes("/d/b"));
        Assert.False(fs.FileExists("/d/a"));
    }

    [Fact]
    public void CorruptByteAndTruncate_ChangeWhatReadersSee()
    {
        var fs = NewFs();
        Write(fs, "/d/a", [1, 2, 3, 4], sync: true, syncDirectory: true);
        fs.CorruptByte("/d/a", 1);
        fs.CorruptByte("/d/a", 2, 0x01);
        Assert.Equal([1, 0xFD, 2, 4], fs.ReadAllBytes("/d/a"));
        fs.Truncate("/d/a", 2);
        using var r = fs.OpenRandomAccess("/d/a");
        var buffer = new byte[4];
        Assert.Equal(2, r.Length);
        Assert.Equal(2, r.Read(0, buffer));
        Assert.Equal(0, r.Read(5, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => fs.CorruptByte("/d/a", 2));
    }

    [Fact]
    public void CreateWritable_MissingDirectory_ThrowsDirectoryNotFound()
    {
        var fs = new InMemoryFileSystem();
        Assert.Throws<DirectoryNotFoundException>(() => fs.CreateWritable("/nope/a"));
        Assert.Throws<FileNotFoundException>(() => fs.OpenRandomAccess("/nope/a"));
        Assert.False(fs.DirectoryExists("/nope"));
    }

    [Fact]
    public void CreateWritable_ExistingFile_Truncates()
    {
        var fs = NewFs();
        Write(fs, "/d/a", [1, 2, 3], sync: true, syncDirectory: true);
        Write(fs, "/d/a", [9], sync: false, syncDirectory: false);
        Assert.Equal([9], fs.ReadAllBytes("/d/a"));
        fs.Crash();
        Assert.Empty(fs.ReadAllBytes("/d/a"));
    }

    [Fact]
    public void ConcurrentWritersAndCrashes_NeverTearASyncedPrefix()
    {
        var fs = NewFs();
        var files = Enumerable.Range(0, 4).Select(i => $"/d/f{i}").ToArray();
        foreach (var f in files) Write(fs, f, [], sync: true, syncDirectory: false);
        fs.SyncDirectory("/d");
        var threads = files.Select(path => new Thread(() =>
        {
            for (var round = 0; round < 50; round++)
            {
                try
                {
                    using var w = fs.CreateWritable(path);
                    for (byte i = 0; i < 100; i++)
                    {
                        w.Append([i]);
                        if (i % 10 == 9) w.Sync();
                    }
                }
                catch (IOException)
                {
                    // a crash killed this writer
                }
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        for (var i = 0; i < 20; i++) { fs.Crash(); Thread.Yield(); }
        foreach (var t in threads) t.Join();
        fs.Crash();
        foreach (var path in files)
        {
            var bytes = fs.ReadAllBytes(path);
            Assert.Equal(0, bytes.Length % 10);
            for (var i = 0; i < bytes.Length; i++) Assert.Equal(i, bytes[i]);
        }
    }
}
