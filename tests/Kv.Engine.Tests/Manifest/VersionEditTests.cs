using CsCheck;
using Kv.Engine.Manifest;

namespace Kv.Engine.Tests.Manifest;

public class VersionEditTests
{
    private static readonly Gen<FileMetadata> GenFile =
        Gen.Select(Gen.ULong, Gen.Long[0, long.MaxValue], Gen.Byte.Array[0, 40], Gen.Byte.Array[0, 40], Gen.Long, Gen.Long)
           .Select((n, size, s, l, min, max) => new FileMetadata(n, size, s, l, min, max));

    private static readonly Gen<VersionEdit> GenEdit =
        Gen.Select(Gen.ULong.Nullable(), Gen.ULong.Nullable(), Gen.Select(Gen.Int[0, 6], GenFile).List[0, 5],
                   Gen.Select(Gen.Int[0, 6], Gen.ULong).List[0, 5], Gen.Select(Gen.Int[0, 6], Gen.Byte.Array[0, 20]).List[0, 3])
           .Select((log, next, adds, deletes, pointers) =>
           {
               var e = new VersionEdit();
               if (log is { } l) e.SetLogNumber(l);
               if (next is { } n) e.SetNextFileNumber(n);
               foreach (var (level, f) in adds) e.AddFile(level, f);
               foreach (var (level, number) in deletes) e.DeleteFile(level, number);
               foreach (var (level, key) in pointers) e.SetCompactPointer(level, key);
               return e;
           });

    private static void AssertSame(VersionEdit a, VersionEdit b)
    {
        Assert.Equal(a.LogNumber, b.LogNumber);
        Assert.Equal(a.NextFileNumber, b.NextFileNumber);
        Assert.Equal(a.NewFiles, b.NewFiles);
        Assert.Equal(a.DeletedFiles, b.DeletedFiles);
        Assert.Equal(a.CompactPointers.Select(p => (p.Level, Convert.ToHexString(p.Key))),
                     b.CompactPointers.Select(p => (p.Level, Convert.ToHexString(p.Key))));
    }

    [Fact]
    public void EncodeDecode_RandomEdits_RoundTrip()
    {
        GenEdit.Sample(edit => AssertSame(edit, VersionEdit.Decode(edit.Encode(), "m", 0)));
    }

    [Fact]
    public void Decode_TruncatedInsideAField_ThrowsCorruptionNamingFileAndOffset()
    {
        var edit = new VersionEdit();
        edit.AddFile(3, new FileMetadata(9, 100, [1, 2, 3], [4, 5, 6], -1, 1));
        var bytes = edit.Encode();
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var e = Assert.Throws<CorruptionException>(() => VersionEdit.Decode(bytes.AsSpan(0, cut), "/db/MANIFEST-000002", 77));
            Assert.Equal("/db/MANIFEST-000002", e.FilePath);
            Assert.Equal(77, e.Offset);
        }
    }

    [Fact]
    public void Decode_UnknownTagOrBadLevel_ThrowsCorruption()
    {
        Assert.Contains("unknown version edit tag 9", Assert.Throws<CorruptionException>(() => VersionEdit.Decode([9, 1], "m", 0)).Message);
        Assert.Contains("level 7", Assert.Throws<CorruptionException>(() => VersionEdit.Decode([4, 7, 1], "m", 0)).Message);
    }

    [Fact]
    public void Encode_LogNumberOnly_MatchesDocumentedBytes()
    {
        var edit = new VersionEdit();
        edit.SetLogNumber(300);
        Assert.Equal(new byte[] { 1, 0xAC, 0x02 }, edit.Encode());
    }

    [Fact]
    public void AddFile_LevelOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VersionEdit().AddFile(7, ManifestTestData.Table(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VersionEdit().DeleteFile(-1, 1));
    }
}
