using System.Buffers;
using System.Text;
using Kv.Engine.Cache;
using Kv.Engine.Format;
using Kv.Engine.IO;
using Kv.Engine.Sstable;

namespace Kv.Engine.Tests.Sstable;

/// <summary>An internal entry of a test model.</summary>
internal sealed record TestEntry(byte[] Key, byte[] Value)
{
    public byte[] UserKey => InternalKey.UserKey(Key).ToArray();
    public long Timestamp => InternalKey.Timestamp(Key);
    public EntryKind Kind => InternalKey.Kind(Key);
}

internal static class SstableTestData
{
    public static byte[] Ik(ReadOnlySpan<byte> userKey, long timestamp, EntryKind kind = EntryKind.Value)
    {
        var key = new byte[InternalKey.EncodedLength(userKey.Length)];
        InternalKey.Write(key, userKey, timestamp, kind);
        return key;
    }

    public static byte[] Ik(string userKey, long timestamp, EntryKind kind = EntryKind.Value) => Ik(Encoding.UTF8.GetBytes(userKey), timestamp, kind);

    public static byte[] SeekKey(ReadOnlySpan<byte> userKey)
    {
        var key = new byte[InternalKey.EncodedLength(userKey.Length)];
        InternalKey.WriteSeekKey(key, userKey);
        return key;
    }

    /// <summary>Sorts by internal key and keeps the first of equal keys.</summary>
    public static List<TestEntry> SortedDistinct(IEnumerable<TestEntry> entries)
    {
        var list = entries.ToList();
        list.Sort((a, b) => InternalKey.Compare(a.Key, b.Key));
        var result = new List<TestEntry>();
        foreach (var e in list)
            if (result.Count == 0 || InternalKey.Compare(result[^1].Key, e.Key) != 0) result.Add(e);
        return result;
    }

    /// <summary>Index of the first entry with key &gt;= target (entries.Count if none): the model of Seek.</summary>
    public static int LowerBound(List<TestEntry> entries, ReadOnlySpan<byte> target)
    {
        int lo = 0, hi = entries.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (InternalKey.Compare(entries[mid].Key, target) < 0) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    public static TableProperties Build(string path, IEnumerable<TestEntry> sortedEntries, TableOptions? options = null)
    {
        using var file = LocalFileSystem.Instance.CreateWritable(path);
        using var builder = new TableBuilder(file, options ?? new TableOptions());
        foreach (var e in sortedEntries) builder.Add(e.Key, e.Value);
        var props = builder.Finish();
        file.Sync();
        return props;
    }

    public static TableReader Open(string path, ulong fileNumber = 1, BlockCache? cache = null) =>
        TableReader.Open(LocalFileSystem.Instance, path, fileNumber, cache);

    public static List<TestEntry> ReadAll(IInternalIterator it)
    {
        var result = new List<TestEntry>();
        for (it.SeekToFirst(); it.Valid; it.Next()) result.Add(new TestEntry(it.Key.ToArray(), it.Value.ToArray()));
        return result;
    }

    public static void AssertSameEntries(List<TestEntry> expected, List<TestEntry> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Key, actual[i].Key);
            Assert.Equal(expected[i].Value, actual[i].Value);
        }
    }

    public static (bool Found, long Timestamp, EntryKind Kind, byte[] Value) Get(TableReader reader, ReadOnlySpan<byte> userKey)
    {
        var writer = new ArrayBufferWriter<byte>();
        var found = reader.TryGetNewest(userKey, out var ts, out var kind, writer);
        return (found, ts, kind, writer.WrittenSpan.ToArray());
    }
}

/// <summary>A directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kv-sstable-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
