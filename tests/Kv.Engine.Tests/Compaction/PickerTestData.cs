using System.Text;
using Kv.Engine.Format;
using Kv.Engine.Manifest;
using Version = Kv.Engine.Manifest.Version;

namespace Kv.Engine.Tests.Compaction;

internal static class PickerTestData
{
    public static FileMetadata File(ulong number, string smallest, string largest, long size) =>
        new(number, size, Ik(smallest), Ik(largest), 1, 1);

    public static byte[] Ik(string userKey)
    {
        var bytes = Encoding.UTF8.GetBytes(userKey);
        var key = new byte[InternalKey.EncodedLength(bytes.Length)];
        InternalKey.Write(key, bytes, 1, EntryKind.Value);
        return key;
    }

    /// <summary>A version with the given tables per level (level index = array index).</summary>
    public static Version Tree(params FileMetadata[][] levels)
    {
        var all = Version.EmptyLevels();
        for (var i = 0; i < levels.Length; i++) all[i] = levels[i];
        return new Version(all);
    }

    public static ulong[] Numbers(IReadOnlyList<FileMetadata> files) => files.Select(f => f.Number).OrderBy(n => n).ToArray();
}
