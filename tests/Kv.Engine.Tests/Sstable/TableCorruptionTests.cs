using System.Text;
using Kv.Engine.Format;
using Kv.Engine.Sstable;
using static Kv.Engine.Tests.Sstable.SstableTestData;

namespace Kv.Engine.Tests.Sstable;

/// <summary>Damaged tables must fail loudly, naming file and offset, and never answer with a wrong value.</summary>
public class TableCorruptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;
    private readonly List<TestEntry> _entries = [];
    private readonly byte[] _pristine;
    private readonly Footer _footer;

    public TableCorruptionTests()
    {
        for (var i = 0; i < 60; i++)
        {
            var kind = i % 9 == 4 ? EntryKind.Tombstone : EntryKind.Value;
            _entries.Add(new TestEntry(Ik($"key{i:D3}", 1000 - i, kind), kind == EntryKind.Tombstone ? [] : Encoding.ASCII.GetBytes($"value-{i}-{new string('x', i % 20)}")));
        }
        _path = _dir.File("000001.sst");
        Build(_path, _entries, new TableOptions { BlockSize = 256 });
        _pristine = File.ReadAllBytes(_path);
        _footer = Footer.Decode(_pristine.AsSpan(_pristine.Length - Footer.Length), _path, _pristine.Length - Footer.Length);
    }

    public void Dispose() => _dir.Dispose();

    private void WriteDamaged(int offset, byte xor)
    {
        var bytes = (byte[])_pristine.Clone();
        bytes[offset] ^= xor;
        File.WriteAllBytes(_path, bytes);
    }

    private CorruptionException AssertCorruptOnReadAll()
    {
        return Assert.Throws<CorruptionException>(() =>
        {
            using var reader = Open(_path);
            reader.VerifyChecksums();
            foreach (var e in _entries) Get(reader, e.UserKey);
            using var it = reader.NewIterator();
            ReadAll(it);
        });
    }

    [Fact]
    public void TryGetNewest_BitFlipInDataBlock_ThrowsCorruptionNamingBlock()
    {
        Assert.True(_footer.Filter.Offset > 10, "the first data block spans offset 10");
        WriteDamaged(10, 0x04); // inside the first data block, which starts at offset 0
        using var reader = Open(_path); // metadata intact: opens
        var ex = Assert.Throws<CorruptionException>(() => Get(reader, _entries[0].UserKey));
        Assert.Equal(_path, ex.FilePath);
        Assert.Equal(0, ex.Offset);
        Assert.Contains(_path, ex.Message);
        using var it = reader.NewIterator();
        Assert.Throws<CorruptionException>(() => it.SeekToFirst());
        Assert.Throws<CorruptionException>(() => reader.VerifyChecksums());
    }

    [Fact]
    public void Open_BitFlipInIndexBlock_ThrowsCorruptionAtIndexOffset()
    {
        WriteDamaged((int)_footer.Index.Offset + 3, 0x10);
        var ex = Assert.Throws<CorruptionException>(() => Open(_path));
        Assert.Equal(_path, ex.FilePath);
        Assert.Equal(_footer.Index.Offset, ex.Offset);
    }

    [Fact]
    public void Open_BitFlipInFilterBlock_ThrowsCorruptionAtFilterOffset()
    {
        WriteDamaged((int)_footer.Filter.Offset + 1, 0x01);
        var ex = Assert.Throws<CorruptionException>(() => Open(_path));
        Assert.Equal(_footer.Filter.Offset, ex.Offset);
    }

    [Fact]
    public void Open_BitFlipInPropertiesBlock_ThrowsCorruptionAtPropertiesOffset()
    {
        WriteDamaged((int)_footer.Properties.Offset + 2, 0x80);
        var ex = Assert.Throws<CorruptionException>(() => Open(_path));
        Assert.Equal(_footer.Properties.Offset, ex.Offset);
    }

    [Fact]
    public void Open_BitFlipInFooterMagic_ThrowsCorruptionNamingMagic()
    {
        WriteDamaged(_pristine.Length - 3, 0x20);
        var ex = Assert.Throws<CorruptionException>(() => Open(_path));
        Assert.Equal(_path, ex.FilePath);
        Assert.Equal(_pristine.Length - 8, ex.Offset);
        Assert.Contains("magic", ex.Message);
    }

    [Fact]
    public void Open_FooterHandleBitFlip_ThrowsCorruption()
    {
        WriteDamaged(_pristine.Length - Footer.Length + 1, 0x02);
        var ex = Assert.Throws<CorruptionException>(() => Open(_path));
        Assert.Equal(_path, ex.FilePath);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(Footer.Length - 1)]
    [InlineData(-1)]
    [InlineData(-Footer.Length)]
    [InlineData(-200)]
    public void Open_TruncatedFile_ThrowsCorruptionNamingFile(int length)
    {
        var keep = length >= 0 ? length : _pristine.Length + length;
        File.WriteAllBytes(_path, _pristine.AsSpan(0, keep).ToArray());
        var ex = AssertCorruptOnReadAll();
        Assert.Equal(_path, ex.FilePath);
        Assert.InRange(ex.Offset, 0, _pristine.Length);
    }

    [Fact]
    public void Read_TruncatedMiddleRewrittenWithFooter_ThrowsCorruption()
    {
        // A table whose data blocks were cut but whose tail survived (e.g. a torn copy): footer handles point
        // past the data that is there, so metadata reads fail their checksums.
        var bytes = _pristine.AsSpan(0, 100).ToArray().Concat(_pristine.AsSpan(_pristine.Length - 400).ToArray()).ToArray();
        File.WriteAllBytes(_path, bytes);
        AssertCorruptOnReadAll();
    }

    [Fact]
    public void Read_EveryByteFlipped_DetectedAndNeverAWrongValue()
    {
        var absent = new[] { "key", "key0601", "zzz", "" };
        for (var offset = 0; offset < _pristine.Length; offset++)
        {
            WriteDamaged(offset, (byte)(1 << (offset % 8)));
            var detected = false;
            try
            {
                using var reader = Open(_path);
                // Before any scrub, lookups and scans answer correctly or throw.
                foreach (var e in _entries.Where(e => InternalKey.Timestamp(e.Key) % 3 == 0))
                {
                    var got = Get(reader, e.UserKey);
                    Assert.True(got.Found, $"flip at {offset}: {Encoding.ASCII.GetString(e.UserKey)} lost");
                    Assert.Equal(e.Timestamp, got.Timestamp);
                    Assert.Equal(e.Kind, got.Kind);
                    Assert.Equal(e.Value, got.Value);
                }
                foreach (var a in absent) Assert.False(Get(reader, Encoding.ASCII.GetBytes(a)).Found, $"flip at {offset}: phantom {a}");
                using (var it = reader.NewIterator()) AssertSameEntries(_entries, ReadAll(it));
                reader.VerifyChecksums();
            }
            catch (CorruptionException ex)
            {
                Assert.Equal(_path, ex.FilePath);
                Assert.InRange(ex.Offset, 0, _pristine.Length);
                detected = true;
            }
            // Every byte of a table is covered by a block checksum, the footer checksum, version or magic.
            Assert.True(detected, $"a bit flip at offset {offset} of {_pristine.Length} went unnoticed");
        }
    }
}
