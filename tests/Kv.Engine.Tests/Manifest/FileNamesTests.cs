using Kv.Engine.Manifest;

namespace Kv.Engine.Tests.Manifest;

public class FileNamesTests
{
    [Fact]
    public void Names_HaveTheDocumentedShape()
    {
        Assert.Equal("/db/000007.log", FileNames.LogFile("/db", 7));
        Assert.Equal("/db/000007.sst", FileNames.TableFile("/db", 7));
        Assert.Equal("/db/MANIFEST-000012", FileNames.ManifestFile("/db", 12));
        Assert.Equal("/db/1234567.dbtmp", FileNames.TempFile("/db", 1234567));
        Assert.Equal("/db/CURRENT", FileNames.CurrentFile("/db"));
        Assert.Equal("/db/LOCK", FileNames.LockFile("/db"));
    }

    [Theory]
    [InlineData("000001.log", FileType.Log, 1UL)]
    [InlineData("123456789.sst", FileType.Table, 123456789UL)]
    [InlineData("MANIFEST-000003", FileType.Manifest, 3UL)]
    [InlineData("000004.dbtmp", FileType.Temp, 4UL)]
    [InlineData("CURRENT", FileType.Current, 0UL)]
    [InlineData("LOCK", FileType.Lock, 0UL)]
    public void TryParse_DatabaseFiles_Recognized(string name, FileType type, ulong number)
    {
        Assert.True(FileNames.TryParse(name, out var t, out var n));
        Assert.Equal(type, t);
        Assert.Equal(number, n);
    }

    [Theory]
    [InlineData("abc.log")]
    [InlineData(".log")]
    [InlineData("-1.sst")]
    [InlineData(" 1.sst")]
    [InlineData("000001.txt")]
    [InlineData("MANIFEST-")]
    [InlineData("MANIFEST-x1")]
    [InlineData("CURRENT.bak")]
    [InlineData("99999999999999999999999.log")]
    public void TryParse_OtherNames_Rejected(string name)
    {
        Assert.False(FileNames.TryParse(name, out _, out _));
    }

    [Fact]
    public void TryParse_RoundTripsGeneratedNames()
    {
        foreach (var n in new ulong[] { 0, 1, 999_999, 1_000_000, ulong.MaxValue })
        {
            Assert.True(FileNames.TryParse(Path.GetFileName(FileNames.TableFile("/d", n)), out var t, out var parsed));
            Assert.Equal((FileType.Table, n), (t, parsed));
            Assert.True(FileNames.TryParse(FileNames.ManifestName(n), out t, out parsed));
            Assert.Equal((FileType.Manifest, n), (t, parsed));
        }
    }
}
