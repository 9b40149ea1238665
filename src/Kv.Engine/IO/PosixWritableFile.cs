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
/// <para>Preallocation (<c>preallocateBytes</c> &gt; 0): a sync after a write that grew the file must also commit
/// the file system's metadata for the new blocks and size (on ext4 a journal commit), which on this project's
/// machine made each pwrite + fdatasync of an appended sector cost ~240 µs and ~105 µs of CPU, against ~150 µs and
/// ~60 µs when the sector was already written (docs/formats/wal.md, "Preallocation"). So the file is kept written
/// with zeros ahead of the appends: a thread-pool item writes zeros in <see cref="FillPiece"/> pieces and syncs
/// each before publishing it, keeping at least half of <c>preallocateBytes</c> ahead of the last write, and every
/// append then overwrites blocks the file system already considers written. fallocate would not do: it leaves
/// unwritten extents whose conversion on first write is a metadata change again. Appends never wait for the
/// filler unless they outrun the piece it is writing (then for that piece), and a failed fill only stops
/// preallocation. The zeros end the log as sector padding does.</para>
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

    // preallocation: the filler writes zeros from _zeroedEnd to _preallocateBytes past the appends, a piece at a time
    internal const int FillPiece = 1024 * 1024;
    private readonly long _preallocateBytes;
    private readonly object _fillLock = new();
    private long _zeroedEnd;       // file offset below which every byte is written (zeros synced by the filler, or data)
    private long _appendedEnd;     // the end of the appends as last reported to the filler (under _fillLock)
    private bool _fillActive;      // a fill is queued or running
    private bool _fillWriting;     // the filler is writing [_zeroedEnd, next piece end): appends beyond _zeroedEnd wait
    private bool _fillStopped;     // a fill failed, or the file is closing: no more preallocation
    private readonly Action<object?> _fill;
    private readonly Action<Action>? _scheduleFill; // tests: run the filler when they choose; null: the thread pool

    private PosixWritableFile(string path, int fd, bool direct, long preallocateBytes, Action<Action>? scheduleFill)
    {
        _scheduleFill = scheduleFill;
        _path = path;
        _fd = fd;
        IsDirect = direct;
        _buffer = (byte*)NativeMemory.AlignedAlloc(BufferSize, Alignment);
        _preallocateBytes = preallocateBytes <= 0 ? 0 : (preallocateBytes + Alignment - 1) / Alignment * Alignment;
        _fill = _ => Fill();
        if (_preallocateBytes > 0) StartFillIfLow(0);
    }

    /// <summary>True if the file was opened with O_DIRECT.</summary>
    public bool IsDirect { get; }

    public long Length => _length;

    /// <summary>Creates (truncating) <paramref name="path"/>. With <paramref name="direct"/>, returns null and a reason
    /// when the platform or the file system does not accept O_DIRECT; any other failure throws.
    /// <paramref name="preallocateBytes"/>: how far ahead of the appends the file is kept written with zeros (0: never).</summary>
    public static PosixWritableFile? TryCreate(string path, bool direct, out string? unsupportedReason, long preallocateBytes = 0,
                                               Action<Action>? scheduleFill = null)
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
        return new PosixWritableFile(path, fd, direct, preallocateBytes, scheduleFill);
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
            ReserveRoom(_bufferOffset + padded);
            WriteAll(_buffer, padded, _bufferOffset);
            var whole = _buffered / Alignment * Alignment;
            var tail = _buffered - whole;
            if (whole > 0 && tail > 0) Buffer.MemoryCopy(_buffer + whole, _buffer, BufferSize, tail);
            _bufferOffset += whole;
            _buffered = tail;
        }
        else
        {
            ReserveRoom(_bufferOffset + _buffered);
            WriteAll(_buffer, _buffered, _bufferOffset);
            _bufferOffset += _buffered;
            _buffered = 0;
        }
        _flushedLength = _length;
        if (_preallocateBytes > 0) StartFillIfLow(_bufferOffset + _buffered);
    }

    /// <summary>The file offset up to which the file is written and synced ahead of the appends (tests).</summary>
    internal long PreallocatedEnd
    {
        get { lock (_fillLock) return _zeroedEnd; }
    }

    /// <summary>Before writing up to <paramref name="end"/>: if that passes the zeroed region, waits while the filler
    /// writes a piece there (it never writes below the zeroed end, and appends must not write where it is writing),
    /// and if the zeroed region still does not reach, the append extends the file itself and the filler continues
    /// after it.</summary>
    private void ReserveRoom(long end)
    {
        if (_preallocateBytes == 0 || end <= Volatile.Read(ref _zeroedEnd)) return;
        lock (_fillLock)
        {
            // only a piece being written is waited for: a fill still queued (a busy thread pool) is overtaken, so an
            // append never depends on a thread-pool thread becoming free
            while (_fillWriting && end > _zeroedEnd) Monitor.Wait(_fillLock);
            if (end > _zeroedEnd)
            {
                _zeroedEnd = end;
                if (_appendedEnd < end) _appendedEnd = end;
            }
        }
    }

    private void StartFillIfLow(long end)
    {
        if (Volatile.Read(ref _zeroedEnd) - end >= _preallocateBytes / 2) return;
        lock (_fillLock)
        {
            // a running filler reads this before each piece, so it also covers appends made while it runs
            if (_appendedEnd < end) _appendedEnd = end;
            if (_fillActive || _fillStopped || _zeroedEnd - end >= _preallocateBytes / 2) return;
            _fillActive = true;
        }
        if (_scheduleFill is { } schedule) schedule(Fill);
        else ThreadPool.UnsafeQueueUserWorkItem(_fill, null, preferLocal: false);
    }

    /// <summary>The filler: zeros from the zeroed end to the target, a piece at a time, each synced before appends
    /// may use it.</summary>
    private void Fill()
    {
        var zeros = (byte*)ZeroPiece.Address;
        while (true)
        {
            long from, to;
            lock (_fillLock)
            {
                // direct-mode appends only write whole sectors, so _zeroedEnd is aligned there and so is the target
                var target = (_appendedEnd + _preallocateBytes + Alignment - 1) / Alignment * Alignment;
                if (_fillStopped || _zeroedEnd >= target)
                {
                    _fillActive = false;
                    Monitor.PulseAll(_fillLock);
                    return;
                }
                from = _zeroedEnd;
                to = Math.Min(target, (from / FillPiece + 1) * FillPiece);
                _fillWriting = true;
            }
            var filled = true;
            try
            {
                WriteAll(zeros, (int)(to - from), from);
                if (Posix.Fdatasync(_fd) != 0) throw Error("fdatasync", _path, Marshal.GetLastPInvokeError());
            }
            catch (Exception)
            {
                // the appends go on extending the file themselves, and their own writes report a real disk problem;
                // nothing thrown here may escape: it would end the process from a thread-pool item
                filled = false;
            }
            lock (_fillLock)
            {
                _fillWriting = false;
                if (filled)
                {
                    _zeroedEnd = to; // appends waited while this piece was written, so nothing moved it meanwhile
                }
                else
                {
                    _fillStopped = true;
                    _fillActive = false;
                }
                Monitor.PulseAll(_fillLock);
                if (!filled) return;
            }
        }
    }

    /// <summary>One aligned piece of zeros shared by every file's filler, allocated on first use and never freed.</summary>
    private static class ZeroPiece
    {
        public static readonly nint Address = Allocate();

        private static nint Allocate()
        {
            var zeros = (byte*)NativeMemory.AlignedAlloc(FillPiece, Alignment);
            new Span<byte>(zeros, FillPiece).Clear();
            return (nint)zeros;
        }
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
        lock (_fillLock)
        {
            _fillStopped = true; // a queued fill that starts later finds this and leaves the descriptor alone
            while (_fillWriting) Monitor.Wait(_fillLock);
        }
        try
        {
            Flush();
            if ((IsDirect && _length % Alignment != 0) || _zeroedEnd > _length)
            {
                // drop the sector padding and the preallocated zeros so the file is exactly what was appended
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
