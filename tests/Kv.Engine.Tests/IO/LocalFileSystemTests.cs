using Kv.Engine.IO;

namespace Kv.Engine.Tests.IO;

/// <summary>Tables and manifests are written through <see cref="LocalFileSystem"/>: starting write-back every MiB on the
/// way must leave the file exactly what was appended, in order, at every length.</summary>
public class LocalFileSystemTests
{
    [Fact]
    public void CreateWritable_AppendsPastSeveralWritebackPoints_FileHoldsExactlyTheAppends()
    {
        using var dir = new TestDirectory();
        var path = dir.File("000001.sst");
        var random = new Random(7);
        var expected = new MemoryStream();
        using (var file = LocalFileSystem.Instance.CreateWritable(path))
        {
            while (expected.Length < 3_500_000)
            {
                var chunk = new byte[random.Next(3) == 0 ? random.Next(1, 300_000) : random.Next(1, 5000)];
                random.NextBytes(chunk);
                file.Append(chunk);
                expected.Write(chunk);
                Assert.Equal(expected.Length, file.Length);
                if (random.Next(20) == 0) file.Flush();
            }
            file.Sync();
        }
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
    }
}
