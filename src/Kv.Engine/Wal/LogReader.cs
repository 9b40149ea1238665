using System.Buffers;
using System.Buffers.Binary;
using Kv.Engine.IO;
using Microsoft.Extensions.Logging;

namespace Kv.Engine.Wal;

/// <summary>
/// Reads the records of a file in <see cref="LogFormat"/> (a WAL or a manifest), verifying every fragment.
/// </summary>
/// <remarks>
/// Damage is classified, never skipped: at the first bad fragment (checksum mismatch, impossible length, unknown
/// type, broken fragment sequence, truncated header or payload, zero bytes) the reader looks for any well-formed
/// fragment later in the file (every later offset of the same block, skipping the claimed payload when only the
/// checksum is wrong, and the start of every later block). If
/// there is one, the file is damaged in the middle: a <see cref="CorruptionException"/> names the file and the
/// offset of the bad fragment (or of the record it breaks). If there is none, the damage is a torn tail (a write
/// that a crash cut short, or O_DIRECT zero padding): it is dropped and logged, and reading ends.
/// Threading: one thread at a time. The span returned by <see cref="TryReadRecord"/> is valid until the next call.
/// </remarks>
internal sealed class LogReader : IDisposable
{
    private readonly IRandomAccessFile _file;
    private readonly string _path;
    private readonly ILogger? _logger;
    private readonly long _fileLength;
    private readonly byte[] _block = ArrayPool<byte>.Shared.Rent(LogFormat.BlockSize);
    private byte[] _record = ArrayPool<byte>.Shared.Rent(LogFormat.BlockSize);
    private long _blockStart = -LogFormat.BlockSize;
    private int _blockLength;
    private long _position;
    private bool _ended;

    public LogReader(IRandomAccessFile file, ILogger? logger)
    {
        _file = file;
        _path = file.Path;
        _logger = logger;
        _fileLength = file.Length;
    }

    /// <summary>Bytes of the file accepted as records so far (the end of the last good record once reading ends).</summary>
    public long ValidLength { get; private set; }

    /// <summary>Bytes dropped as a torn tail (0 if the file ended cleanly).</summary>
    public long DroppedBytes { get; private set; }

    /// <summary>Reads the next record; false at the end of the valid records.</summary>
    /// <exception cref="CorruptionException">damage followed by well-formed data.</exception>
    public bool TryReadRecord(out ReadOnlySpan<byte> payload, out long recordOffset)
    {
        payload = default;
        recordOffset = -1;
        if (_ended) return false;
        var assembled = 0;
        var inRecord = false;
        while (true)
        {
            var fragmentOffset = _position;
            if (fragmentOffset >= _fileLength)
            {
                if (inRecord) return TornTail(recordOffset, "the file ends inside a record");
                return End();
            }
            LoadBlockOf(fragmentOffset);
            var inBlock = (int)(fragmentOffset - _blockStart);
            var available = _blockLength - inBlock;
            if (LogFormat.BlockSize - inBlock < LogFormat.HeaderSize)
            {
                // block trailer: the writer pads it with zeros and continues in the next block
                _position = _blockStart + LogFormat.BlockSize;
                continue;
            }
            if (available < LogFormat.HeaderSize)
                return Damaged(inRecord ? recordOffset : fragmentOffset, fragmentOffset, "truncated fragment header");

            var fragment = _block.AsSpan(inBlock, available);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(fragment[4..]);
            var type = fragment[6];
            if (type == LogFormat.Zero && length == 0 && BinaryPrimitives.ReadUInt32LittleEndian(fragment) == 0)
                return Damaged(inRecord ? recordOffset : fragmentOffset, fragmentOffset, "zero bytes where a fragment header should be");
            if (type > LogFormat.MaxType || type == LogFormat.Zero)
                return Damaged(fragmentOffset, fragmentOffset, $"unknown fragment type {type}");
            if (LogFormat.HeaderSize + length > LogFormat.BlockSize - inBlock)
                return Damaged(fragmentOffset, fragmentOffset, $"fragment length {length} runs past the end of its block");
            if (LogFormat.HeaderSize + length > available)
                return Damaged(inRecord ? recordOffset : fragmentOffset, fragmentOffset, "truncated fragment payload");
            if (!LogFormat.ChecksumMatches(fragment[..(LogFormat.HeaderSize + length)]))
            {
                // the length is plausible: what follows the claimed payload tells a torn tail from corruption (looking
                // inside the payload could mistake user data that happens to be log-framed for a later record). A torn
                // tail ends the file, though: bytes other than zeros after the claimed payload mean the length field
                // itself may be damaged (a flipped high bit of the first record's length once claimed most of a
                // block, no record started after that, and the whole log was dropped as a torn tail).
                var claimedEnd = fragmentOffset + LogFormat.HeaderSize + length;
                if (claimedEnd < _fileLength && FindFragmentFrom(claimedEnd) is null && !AllZeroFrom(claimedEnd))
                {
                    throw new CorruptionException(_path, fragmentOffset,
                        $"checksum mismatch, and the {_fileLength - claimedEnd} bytes after the fragment's claimed end are neither zeros nor log " +
                        "records: the log is damaged in the middle (perhaps the length field), not torn at the end; restore the file from a " +
                        "backup or a replica, or remove it to lose its unflushed writes");
                }
                return Damaged(fragmentOffset, fragmentOffset, "checksum mismatch", claimedEnd);
            }

            var body = fragment.Slice(LogFormat.HeaderSize, length);
            _position = fragmentOffset + LogFormat.HeaderSize + length;
            switch (type)
            {
                case LogFormat.Full:
                    if (inRecord) return Damaged(recordOffset, fragmentOffset, "a record begins before the previous one ended");
                    payload = body;
                    recordOffset = fragmentOffset;
                    ValidLength = _position;
                    return true;
                case LogFormat.First:
                    if (inRecord) return Damaged(recordOffset, fragmentOffset, "a record begins before the previous one ended");
                    inRecord = true;
                    recordOffset = fragmentOffset;
                    assembled = 0;
                    Append(ref assembled, body);
                    break;
                case LogFormat.Middle:
                    if (!inRecord) return Damaged(fragmentOffset, fragmentOffset, "a continuation fragment without a first fragment");
                    Append(ref assembled, body);
                    break;
                default: // Last
                    if (!inRecord) return Damaged(fragmentOffset, fragmentOffset, "a last fragment without a first fragment");
                    Append(ref assembled, body);
                    payload = _record.AsSpan(0, assembled);
                    ValidLength = _position;
                    return true;
            }
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_block);
        ArrayPool<byte>.Shared.Return(_record);
        _record = [];
    }

    private void Append(ref int assembled, ReadOnlySpan<byte> body)
    {
        if (assembled + body.Length > _record.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(assembled + body.Length, _record.Length * 2));
            _record.AsSpan(0, assembled).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_record);
            _record = bigger;
        }
        body.CopyTo(_record.AsSpan(assembled));
        assembled += body.Length;
    }

    private void LoadBlockOf(long offset)
    {
        var start = offset - (offset % LogFormat.BlockSize);
        if (start == _blockStart) return;
        var want = (int)Math.Min(LogFormat.BlockSize, _fileLength - start);
        var n = _file.Read(start, _block.AsSpan(0, want));
        _blockStart = start;
        _blockLength = n;
    }

    private bool End()
    {
        _ended = true;
        return false;
    }

    private bool TornTail(long from, string what)
    {
        _ended = true;
        DroppedBytes = _fileLength - from;
        _logger?.LogWarning("log {Path}: dropping a torn tail of {Bytes} bytes at offset {Offset} ({What}); it is a write that a crash cut short",
                            _path, DroppedBytes, from, what);
        return false;
    }

    /// <summary>Damage at <paramref name="fragmentOffset"/>: a torn tail if nothing well-formed follows, else corruption
    /// reported at <paramref name="reportOffset"/>.</summary>
    private bool Damaged(long reportOffset, long fragmentOffset, string what, long searchFrom = -1)
    {
        if (FindFragmentFrom(searchFrom >= 0 ? searchFrom : fragmentOffset + 1) is { } later)
        {
            throw new CorruptionException(_path, reportOffset,
                $"{what}, followed by valid log data at offset {later}: the log is damaged in the middle, not torn at the end; " +
                "restore the file from a backup or a replica, or remove it to lose its unflushed writes");
        }
        if (what.StartsWith("zero bytes", StringComparison.Ordinal) && AllZeroFrom(fragmentOffset))
        {
            _ended = true;
            DroppedBytes = _fileLength - reportOffset;
            if (reportOffset != fragmentOffset)
                return TornTail(reportOffset, what);
            _logger?.LogInformation("log {Path}: ignoring {Bytes} zero bytes after the last record at offset {Offset} (sector padding)",
                                    _path, DroppedBytes, reportOffset);
            return false;
        }
        return TornTail(reportOffset, what);
    }

    /// <summary>The offset of a well-formed fragment at or after <paramref name="from"/>: at any offset of its block,
    /// then at the start of any later block.</summary>
    private long? FindFragmentFrom(long from)
    {
        if (from >= _fileLength) return null;
        var buffer = ArrayPool<byte>.Shared.Rent(LogFormat.BlockSize);
        try
        {
            var blockStart = from - (from % LogFormat.BlockSize);
            var length = _file.Read(blockStart, buffer.AsSpan(0, (int)Math.Min(LogFormat.BlockSize, _fileLength - blockStart)));
            for (var i = (int)(from - blockStart); i + LogFormat.HeaderSize <= length; i++)
            {
                if (LogFormat.IsValidFragment(buffer.AsSpan(i, length - i))) return blockStart + i;
            }
            for (var start = blockStart + LogFormat.BlockSize; start < _fileLength; start += LogFormat.BlockSize)
            {
                length = _file.Read(start, buffer.AsSpan(0, (int)Math.Min(LogFormat.BlockSize, _fileLength - start)));
                if (LogFormat.IsValidFragment(buffer.AsSpan(0, length))) return start;
            }
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool AllZeroFrom(long offset)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(LogFormat.BlockSize);
        try
        {
            while (offset < _fileLength)
            {
                var n = _file.Read(offset, buffer.AsSpan(0, (int)Math.Min(LogFormat.BlockSize, _fileLength - offset)));
                if (n == 0) break;
                if (buffer.AsSpan(0, n).ContainsAnyExcept((byte)0)) return false;
                offset += n;
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
