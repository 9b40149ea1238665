using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine.Manifest;

/// <summary>
/// A change to the set of live files: files added and deleted per level, the log number, the next file number and
/// compaction pointers. One edit is one manifest record (docs/formats/manifest.md).
/// <code>
/// // edit  := field*                                   fields in any order; a tag may repeat where it makes sense
/// // field := tag: varint32 | value
/// //   1 log_number        number: varint64             logs numbered below it are no longer needed
/// //   2 next_file_number  number: varint64             every file number in use is below it
/// //   3 compact_pointer   level: varint32 | key: bytes where the next compaction of that level starts
/// //   4 deleted_file      level: varint32 | number: varint64
/// //   5 new_file          level: varint32 | number: varint64 | size: varint64 | smallest: bytes | largest: bytes
/// //                       | min_ts: i64 LE | max_ts: i64 LE
/// // bytes := length: varint32 | length bytes
/// </code>
/// wire format: tags and layouts are stored in every manifest; changing them breaks existing databases.
/// Not thread-safe: build an edit on one thread, then hand it to <see cref="VersionSet.LogAndApply"/>.
/// </summary>
public sealed class VersionEdit
{
    private const uint TagLogNumber = 1, TagNextFileNumber = 2, TagCompactPointer = 3, TagDeletedFile = 4, TagNewFile = 5;

    private readonly List<(int Level, FileMetadata File)> _newFiles = [];
    private readonly List<(int Level, ulong Number)> _deletedFiles = [];
    private readonly List<(int Level, byte[] Key)> _compactPointers = [];

    public ulong? LogNumber { get; private set; }
    public ulong? NextFileNumber { get; private set; }
    public IReadOnlyList<(int Level, FileMetadata File)> NewFiles => _newFiles;
    public IReadOnlyList<(int Level, ulong Number)> DeletedFiles => _deletedFiles;
    public IReadOnlyList<(int Level, byte[] Key)> CompactPointers => _compactPointers;

    /// <summary>Logs numbered below <paramref name="number"/> hold nothing that is not in a table.</summary>
    public void SetLogNumber(ulong number) => LogNumber = number;

    public void SetNextFileNumber(ulong number) => NextFileNumber = number;

    public void AddFile(int level, FileMetadata file)
    {
        CheckLevel(level);
        ArgumentNullException.ThrowIfNull(file);
        _newFiles.Add((level, file));
    }

    public void DeleteFile(int level, ulong number)
    {
        CheckLevel(level);
        _deletedFiles.Add((level, number));
    }

    public void SetCompactPointer(int level, byte[] key)
    {
        CheckLevel(level);
        ArgumentNullException.ThrowIfNull(key);
        _compactPointers.Add((level, key));
    }

    public byte[] Encode()
    {
        var size = 2 * (1 + Varint.MaxLength64);
        foreach (var (_, key) in _compactPointers) size += 1 + Varint.MaxLength32 + Varint.MaxLength32 + key.Length;
        size += _deletedFiles.Count * (1 + Varint.MaxLength32 + Varint.MaxLength64);
        foreach (var (_, f) in _newFiles)
            size += 1 + Varint.MaxLength32 + (2 * Varint.MaxLength64) + (2 * Varint.MaxLength32) + f.Smallest.Length + f.Largest.Length + 16;
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        var n = 0;
        if (LogNumber is { } log)
        {
            n += Varint.Write(span[n..], TagLogNumber);
            n += Varint.Write(span[n..], log);
        }
        if (NextFileNumber is { } next)
        {
            n += Varint.Write(span[n..], TagNextFileNumber);
            n += Varint.Write(span[n..], next);
        }
        foreach (var (level, key) in _compactPointers)
        {
            n += Varint.Write(span[n..], TagCompactPointer);
            n += Varint.Write(span[n..], (ulong)level);
            n += WriteBytes(span[n..], key);
        }
        foreach (var (level, number) in _deletedFiles)
        {
            n += Varint.Write(span[n..], TagDeletedFile);
            n += Varint.Write(span[n..], (ulong)level);
            n += Varint.Write(span[n..], number);
        }
        foreach (var (level, f) in _newFiles)
        {
            n += Varint.Write(span[n..], TagNewFile);
            n += Varint.Write(span[n..], (ulong)level);
            n += Varint.Write(span[n..], f.Number);
            n += Varint.Write(span[n..], (ulong)f.Size);
            n += WriteBytes(span[n..], f.Smallest);
            n += WriteBytes(span[n..], f.Largest);
            BinaryPrimitives.WriteInt64LittleEndian(span[n..], f.MinTs);
            BinaryPrimitives.WriteInt64LittleEndian(span[(n + 8)..], f.MaxTs);
            n += 16;
        }
        return buffer.AsSpan(0, n).ToArray();
    }

    /// <summary>Parses an edit stored at <paramref name="offset"/> of <paramref name="path"/>.</summary>
    /// <exception cref="CorruptionException">the bytes are not a well-formed edit.</exception>
    public static VersionEdit Decode(ReadOnlySpan<byte> data, string path, long offset)
    {
        var edit = new VersionEdit();
        var reader = new Reader(data, path, offset);
        while (!reader.AtEnd)
        {
            var tag = reader.UInt32("tag");
            switch (tag)
            {
                case TagLogNumber:
                    edit.LogNumber = reader.UInt64("log number");
                    break;
                case TagNextFileNumber:
                    edit.NextFileNumber = reader.UInt64("next file number");
                    break;
                case TagCompactPointer:
                    edit._compactPointers.Add((reader.Level(), reader.Bytes("compact pointer key")));
                    break;
                case TagDeletedFile:
                    edit._deletedFiles.Add((reader.Level(), reader.UInt64("deleted file number")));
                    break;
                case TagNewFile:
                    var level = reader.Level();
                    var number = reader.UInt64("file number");
                    var size = reader.UInt64("file size");
                    if (size > long.MaxValue) throw reader.Error($"file size {size} is impossible");
                    var smallest = reader.Bytes("smallest key");
                    var largest = reader.Bytes("largest key");
                    var minTs = reader.Int64("min timestamp");
                    var maxTs = reader.Int64("max timestamp");
                    edit._newFiles.Add((level, new FileMetadata(number, (long)size, smallest, largest, minTs, maxTs)));
                    break;
                default:
                    throw reader.Error($"unknown version edit tag {tag} (written by a newer version?)");
            }
        }
        return edit;
    }

    private static int WriteBytes(Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        var n = Varint.Write(destination, (ulong)bytes.Length);
        bytes.CopyTo(destination[n..]);
        return n + bytes.Length;
    }

    private static void CheckLevel(int level) =>
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)level, (uint)Version.NumLevels, nameof(level));

    private ref struct Reader(ReadOnlySpan<byte> data, string path, long offset)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position >= _data.Length;

        public uint UInt32(string what)
        {
            var n = Varint.TryRead(_data[_position..], out uint value);
            if (n == 0) throw Error($"bad {what} varint at byte {_position} of the edit");
            _position += n;
            return value;
        }

        public ulong UInt64(string what)
        {
            var n = Varint.TryRead(_data[_position..], out ulong value);
            if (n == 0) throw Error($"bad {what} varint at byte {_position} of the edit");
            _position += n;
            return value;
        }

        public long Int64(string what)
        {
            if (_data.Length - _position < 8) throw Error($"the edit ends inside the {what}");
            var value = BinaryPrimitives.ReadInt64LittleEndian(_data[_position..]);
            _position += 8;
            return value;
        }

        public int Level()
        {
            var level = UInt32("level");
            if (level >= Version.NumLevels) throw Error($"level {level} is not below {Version.NumLevels}");
            return (int)level;
        }

        public byte[] Bytes(string what)
        {
            var length = UInt32(what + " length");
            if (length > _data.Length - _position) throw Error($"the {what} runs past the end of the edit");
            var bytes = _data.Slice(_position, (int)length).ToArray();
            _position += (int)length;
            return bytes;
        }

        public readonly CorruptionException Error(string what) => new(path, offset, "manifest record: " + what);
    }
}
