using System.Buffers.Binary;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Version = Kv.Engine.Manifest.Version;

namespace Kv.Engine.Tests.Manifest;

internal static class ManifestTestData
{
    public const string Dir = "/db";

    public static InMemoryFileSystem NewFs()
    {
        var fs = new InMemoryFileSystem();
        fs.CreateDirectory(Dir);
        return fs;
    }

    /// <summary>A table whose user keys span [number*10, number*10+5]: tables with distinct numbers never overlap.</summary>
    public static FileMetadata Table(ulong number, int keyPadding = 0)
    {
        return new FileMetadata(number, (long)(number * 1000) + 17, Key(number * 10, keyPadding, 99), Key((number * 10) + 5, keyPadding, 1),
                                (long)number - 5, (long)number + 5);
    }

    private static byte[] Key(ulong user, int padding, long timestamp)
    {
        var userKey = new byte[8 + padding];
        BinaryPrimitives.WriteUInt64BigEndian(userKey, user);
        var key = new byte[InternalKey.EncodedLength(userKey.Length)];
        InternalKey.Write(key, userKey, timestamp, EntryKind.Value);
        return key;
    }

    public static void AssertSameState(VersionSet expected, VersionSet actual)
    {
        Assert.True(expected.Current.SameFilesAs(actual.Current), Describe(expected.Current) + " != " + Describe(actual.Current));
        Assert.Equal(expected.LogNumber, actual.LogNumber);
    }

    public static string Describe(Version v)
    {
        var parts = new List<string>();
        for (var level = 0; level < v.LevelCount; level++)
            parts.Add($"L{level}[{string.Join(",", v.Files(level).Select(f => f.Number))}]");
        return string.Join(" ", parts);
    }

    /// <summary>Levels as number lists, for comparing states across file systems.</summary>
    public static string Snapshot(VersionSet set) => Describe(set.Current) + " log=" + set.LogNumber;

    public static List<(byte[] Payload, long Offset)> Records(IFileSystem fs, string path)
    {
        var records = new List<(byte[], long)>();
        Kv.Engine.Wal.WalReader.Replay(fs, path, (p, o) => records.Add((p.ToArray(), o)), null);
        return records;
    }
}
