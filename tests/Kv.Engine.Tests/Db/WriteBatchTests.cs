using System.Text;
using Kv.Engine.Format;

namespace Kv.Engine.Tests.Db;

public class WriteBatchTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Payload_SinglePut_MatchesDocumentedBytes()
    {
        var batch = new WriteBatch();
        batch.Put(B("k"), B("v"), 5);
        Assert.Equal(Convert.FromHexString("01000000" + "01" + "0500000000000000" + "016B" + "020076"), batch.Payload.ToArray());
    }

    [Fact]
    public void Reader_MixedBatch_DecodesEveryRecordInOrder()
    {
        var batch = new WriteBatch(8);
        batch.Put(B("a"), B("1"), 10, 12345);
        batch.Delete(B("b"), 3);
        batch.Put([], new byte[5000], long.MaxValue);
        Assert.Equal(3, batch.Count);
        Assert.True(WriteBatchReader.TryCreate(batch.Payload, out var reader));
        Assert.True(reader.TryNext(out var kind, out var ts, out var key, out var ev));
        Assert.Equal((EntryKind.Value, 10L, "a"), (kind, ts, Encoding.UTF8.GetString(key)));
        Assert.True(EntryValue.TryRead(ev, out var expires, out var value));
        Assert.Equal(12345, expires);
        Assert.Equal(B("1"), value.ToArray());
        Assert.True(reader.TryNext(out kind, out ts, out key, out ev));
        Assert.Equal((EntryKind.Tombstone, 3L, "b", 0), (kind, ts, Encoding.UTF8.GetString(key), ev.Length));
        Assert.True(reader.TryNext(out kind, out ts, out key, out ev));
        Assert.Equal((EntryKind.Value, long.MaxValue, 0), (kind, ts, key.Length));
        Assert.False(reader.TryNext(out _, out _, out _, out _));
        Assert.True(reader.AtCleanEnd);
    }

    [Fact]
    public void Reader_TruncatedPayload_IsNotACleanEnd()
    {
        var batch = new WriteBatch();
        batch.Put(B("key"), B("value"), 1);
        batch.Put(B("key2"), B("value2"), 1);
        var payload = batch.Payload.ToArray();
        for (var cut = 4; cut < payload.Length; cut++)
        {
            Assert.True(WriteBatchReader.TryCreate(payload.AsSpan(0, cut), out var reader));
            while (reader.TryNext(out _, out _, out _, out _)) { }
            Assert.False(reader.AtCleanEnd);
        }
    }

    [Fact]
    public void Clear_ReusedBatch_EncodesOnlyNewOperations()
    {
        var batch = new WriteBatch();
        batch.Put(B("x"), B("y"), 1);
        batch.Clear();
        Assert.Equal(0, batch.Count);
        batch.Delete(B("z"), 2);
        Assert.True(WriteBatchReader.TryCreate(batch.Payload, out var reader));
        Assert.Equal(1u, reader.Count);
        Assert.True(reader.TryNext(out var kind, out _, out var key, out _));
        Assert.Equal(EntryKind.Tombstone, kind);
        Assert.Equal(B("z"), key.ToArray());
    }

    [Fact]
    public void PutDelete_NegativeTimestamp_Rejected()
    {
        var batch = new WriteBatch();
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Put("k"u8, "v"u8, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => batch.Delete("k"u8, long.MinValue));
        Assert.Equal(0, batch.Count);
        batch.Put("k"u8, "v"u8, 0);
        batch.Delete("k"u8, long.MaxValue);
        Assert.Equal(2, batch.Count);
    }
}
