using System.Text;
using Kv.Engine.Manifest;
using Kv.Engine.Tests.IO;
using Microsoft.Extensions.Logging;
using static Kv.Engine.Tests.Manifest.ManifestTestData;

namespace Kv.Engine.Tests.Manifest;

/// <summary>Damaged or missing CURRENT and manifests give errors that name the file (and offset), never a wrong state.</summary>
public class ManifestCorruptionTests
{
    /// <summary>A database whose manifest holds the snapshot and then one record per added table.</summary>
    private static (Kv.Engine.IO.InMemoryFileSystem Fs, string Manifest, List<long> Offsets) Build(int tables)
    {
        var fs = NewFs();
        using (var set = VersionSet.Create(fs, Dir, null))
        {
            for (var i = 0; i < tables; i++)
            {
                var edit = new VersionEdit();
                edit.AddFile(0, Table(set.NewFileNumber()));
                set.LogAndApply(edit);
            }
        }
        var manifest = Dir + "/" + Encoding.UTF8.GetString(fs.ReadAllBytes(Dir + "/CURRENT")).TrimEnd('\n');
        return (fs, manifest, Records(fs, manifest).Select(r => r.Offset).ToList());
    }

    [Fact]
    public void Recover_NoCurrent_FileNotFoundSayingWhatToDo()
    {
        var fs = NewFs();
        var e = Assert.Throws<FileNotFoundException>(() => VersionSet.Recover(fs, Dir, null));
        Assert.Contains("no CURRENT file", e.Message);
        Assert.Contains("restore it", e.Message);
    }

    [Fact]
    public void Recover_CurrentNamesMissingManifest_CorruptionNamingTheManifest()
    {
        var (fs, manifest, _) = Build(2);
        fs.DeleteFile(manifest);
        var e = Assert.Throws<CorruptionException>(() => VersionSet.Recover(fs, Dir, null));
        Assert.Equal(manifest, e.FilePath);
        Assert.Contains("does not exist", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("MANIFEST-000002")]
    [InlineData("garbage\n")]
    [InlineData("000002.log\n")]
    public void Recover_MalformedCurrent_CorruptionNamingCurrent(string content)
    {
        var (fs, _, _) = Build(1);
        using (var f = fs.CreateWritable(Dir + "/CURRENT"))
        {
            f.Append(Encoding.UTF8.GetBytes(content));
            f.Sync();
        }
        var e = Assert.Throws<CorruptionException>(() => VersionSet.Recover(fs, Dir, null));
        Assert.Equal(Dir + "/CURRENT", e.FilePath);
    }

    [Fact]
    public void Recover_ByteFlippedInAMiddleRecord_CorruptionAtThatRecord()
    {
        for (var record = 0; record < 4; record++)
        {
            var (fs, manifest, offsets) = Build(5);
            fs.CorruptByte(manifest, offsets[record] + 9);
            var e = Assert.Throws<CorruptionException>(() => VersionSet.Recover(fs, Dir, null));
            Assert.Equal(manifest, e.FilePath);
            Assert.Equal(offsets[record], e.Offset);
        }
    }

    [Fact]
    public void Recover_LastRecordTorn_RecoversTheStateBeforeIt()
    {
        var (fs, manifest, offsets) = Build(3);
        var length = fs.GetFileLength(manifest);
        for (var cut = offsets[^1] + 1; cut < length; cut++)
        {
            var (copy, _, _) = Build(3);
            copy.Truncate(manifest, cut);
            var logger = new ListLogger();
            using var set = VersionSet.Recover(copy, Dir, logger);
            Assert.Equal(2, set.Current.TotalFileCount);
            Assert.True(logger.Contains(LogLevel.Warning, "torn tail"));
        }
    }

    [Fact]
    public void Recover_ManifestWithoutCounters_CorruptionSaysIncomplete()
    {
        var fs = NewFs();
        using (var f = fs.CreateWritable(Dir + "/MANIFEST-000001"))
        {
            var record = new VersionEdit();
            record.AddFile(0, Table(3));
            var payload = record.Encode();
            var framed = new byte[Kv.Engine.Wal.LogFormat.EncodedLength(0, payload.Length)];
            Kv.Engine.Wal.LogFormat.Encode(0, payload, framed);
            f.Append(framed);
            f.Sync();
        }
        using (var f = fs.CreateWritable(Dir + "/CURRENT"))
        {
            f.Append("MANIFEST-000001\n"u8);
            f.Sync();
        }
        var e = Assert.Throws<CorruptionException>(() => VersionSet.Recover(fs, Dir, null));
        Assert.Contains("incomplete", e.Message);
    }

    [Fact]
    public void Create_DirectoryWithTablesButNoCurrent_RefusesWithAClearMessage()
    {
        var fs = NewFs();
        using (var f = fs.CreateWritable(FileNames.TableFile(Dir, 5))) f.Append([1]);
        var e = Assert.Throws<IOException>(() => VersionSet.Create(fs, Dir, null));
        Assert.Contains("no CURRENT", e.Message);
    }

    [Fact]
    public void Create_LeftoverManifestFromACrashedCreate_IsReplaced()
    {
        var fs = NewFs();
        using (var f = fs.CreateWritable(FileNames.ManifestFile(Dir, 9))) f.Append([1, 2, 3]);
        using var set = VersionSet.Create(fs, Dir, null);
        Assert.False(fs.FileExists(FileNames.ManifestFile(Dir, 9)));
        Assert.True(fs.FileExists(FileNames.ManifestFile(Dir, set.ManifestNumber)));
    }
}
