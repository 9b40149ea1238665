using System.Runtime.InteropServices;

namespace Kv.Engine.IO;

/// <summary>
/// An append-only local file written through a raw descriptor, for the WAL: either with O_DIRECT (no page cache,
/// aligned writes) or buffered; <see cref="Sync"/> is fdatasync in both modes.
/// </summary>
/// <remarks>
/// Threading: like every <see cref="IWritableFile"/>, one caller at a time.
/// O_DIRECT needs the buffer address, the file offset and the length of every write aligned to the device's
/// logical block size; <see cref="Alignment"/> (4096) covers every common device. Appended bytes collect in a
/// 4096-aligned native buffer; <see cref="Flush"/> writes whole sectors, zero-padding the last partial one, and
/// keeps that partial sector in the buffer, so the next flush rewrites it with the new bytes where the zeros were.
/// The file is therefore longer than <see cref="Length"/> (up to the next sector) while open; Dispose cuts it back
/// with ftruncate. After a crash the zeros may remain, which the log reader accepts as padding.
/// </remarks>
internal sealed unsafe class PosixWritableFile : IWritableFile
{
    public const int Alignment = 4096;
    private const int BufferSize = 1024 * 1024;

    private readonly string _path;
    private int _fd;
    private byte* _buffer;
    private int _buffered;        // bytes in _buffer, starting at file offset _bufferOffset
    private long _bufferOffset;   // a multiple of Alignment in direct mode
    private long _length;         // logical length: every byte appended
    private long _flushedLength;
    private long _syncedLength;

    private PosixWritableFile(string path, int fd, bool direct)
    {
        _path = path;
        _fd = fd;
        IsDirect = direct;
        _buffer = (byte*)NativeMemory.AlignedAlloc(BufferSize, Alignment);
    }

    /// <summary>True if the file was opened with O_DIRECT.</summary>
    public bool IsDirect { get; }

    public long Length => _length;

    /// <summary>Creates (truncating) <paramref name="path"/>. With <paramref name="direct"/>, returns null and a reason
    /// when the platform or the file system does not accept O_DIRECT; any other failure throws.</summary>
    public static PosixWritableFile? TryCreate(string path, bool direct, out string? unsupportedReason)
    {
        unsupportedReason = null;
        if (!OperatingSystem.IsLinux())
        {
            unsupportedReason = "O_DIRECT and fdatasync are used on Linux only";
            return null;
        }
        var flags = Posix.O_WRONLY | Posix.O_CREAT | Posix.O_TRUNC | Posix.O_CLOEXEC;
        if (direct)
        {
            if (Posix.O_DIRECT is not { } odirect)
            {
                unsupportedReason = $"O_DIRECT is not known on {RuntimeInformation.ProcessArchitecture}";
                return null;
            }
            flags |= odirect;
        }
        var fd = Posix.OpenWithMode(path, flags, 0x1A4 /* 0644 */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (direct && errno == Posix.EINVAL)
            {
                unsupportedReason = "the file system does not accept O_DIRECT (EINVAL)";
                return null;
            }
            throw Error("open", path, errno);
        }
        return new PosixWritableFile(path, fd, direct);
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        while (!data.IsEmpty)
        {
            var n = Math.Min(data.Length, BufferSize - _buffered);
            data[..n].CopyTo(new Span<byte>(_buffer + _buffered, n));
            _buffered += n;
            _length += n;
            data = data[n..];
            if (!data.IsEmpty) Flush();
        }
    }

    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (_flushedLength == _length) return;
        if (IsDirect)
        {
            var padded = (_buffered + Alignment - 1) / Alignment * Alignment;
            new Span<byte>(_buffer + _buffered, padded - _buffered).Clear();
            WriteAll(_buffer, padded, _bufferOffset);
            var whole = _buffered / Alignment * Alignment;
            var tail = _buffered - whole;
            if (whole > 0 && tail > 0) Buffer.MemoryCopy(_buffer + whole, _buffer, BufferSize, tail);
            _bufferOffset += whole;
            _buffered = tail;
        }
        else
        {
            WriteAll(_buffer, _buffered, _bufferOffset);
            _bufferOffset += _buffered;
            _buffered = 0;
        }
        _flushedLength = _length;
    }

    public void Sync()
    {
        Flush();
        if (_syncedLength == _length) return;
        if (Posix.Fdatasync(_fd) != 0) throw Error("fdatasync", _path, Marshal.GetLastPInvokeError());
        _syncedLength = _length;
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        try
        {
            Flush();
            if (IsDirect && _length % Alignment != 0)
            {
                // drop the sector padding so the file is exactly what was appended
                if (Posix.Ftruncate(_fd, _length) != 0) throw Error("ftruncate", _path, Marshal.GetLastPInvokeError());
                if (_syncedLength == _length && Posix.Fdatasync(_fd) != 0) throw Error("fdatasync", _path, Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            Posix.Close(_fd);
            _fd = -1;
            NativeMemory.AlignedFree(_buffer);
            _buffer = null;
        }
    }

    private void WriteAll(byte* data, int count, long offset)
    {
        while (count > 0)
        {
            var n = Posix.PWrite(_fd, data, (nuint)count, offset);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Posix.EINTR) continue;
                throw Error("pwrite", _path, errno);
            }
            if (n == 0) throw new IOException($"pwrite to '{_path}' wrote nothing at offset {offset} (disk full?)");
            data += n;
            count -= (int)n;
            offset += n;
        }
    }

    private static IOException Error(string call, string path, int errno) =>
        new($"{call} on '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
