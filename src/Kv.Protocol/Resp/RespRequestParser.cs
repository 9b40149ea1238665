using System.Buffers;
using System.Runtime.CompilerServices;

namespace Kv.Protocol.Resp;

/// <summary>
/// Parses client requests: RESP multibulk arrays of bulk strings, and inline (telnet-style) lines.
/// </summary>
/// <remarks>
/// Grammar accepted (RESP2/RESP3 requests are the same):
/// <code>
/// request   := multibulk | inline
/// multibulk := '*' count CRLF { '$' length CRLF bytes[length] CRLF }   ; count &lt;= 0 is an empty request
/// inline    := { SP | TAB } arg { (SP | TAB) arg } [CR] LF              ; arg = word | "quoted" | 'quoted'
/// count, length := ['-'] digit+                                           ; fits a signed 64-bit integer
/// </code>
/// Threading: one instance per connection, not thread-safe. The fast path parses the first buffer
/// segment in place; a request that straddles segments is copied into a pooled scratch buffer, growing
/// only as far as the bytes the request is known to need, so a large argument arriving slowly is copied
/// O(n) times in total, not O(n^2).
/// </remarks>
public sealed class RespRequestParser : IDisposable
{
    private const int MaxHeaderLineLength = 32; // "*" or "$" + 20 digits + CRLF fits with room to spare

    private byte[] _scratch = [];
    private long _needed;

    public RespRequestParser(RespLimits? limits = null) => Limits = limits ?? RespLimits.Default;

    public RespLimits Limits { get; set; }

    /// <summary>After <see cref="RespParseStatus.Malformed"/>: the error reply text (without "-ERR ").</summary>
    public string? Error { get; private set; }

    /// <summary>After <see cref="RespParseStatus.Incomplete"/>: the fewest bytes, counted from the request's first byte,
    /// that could complete it as far as it has been read (a bulk's announced length counts in full); a receive buffer
    /// can grow to this once instead of doubling towards it.</summary>
    public long BytesNeeded => _needed;

    /// <summary>True when the last complete request lives in the scratch buffer (it is overwritten by the next straddling request).</summary>
    public bool LastRequestInScratch { get; private set; }

    /// <summary>Parses one request from the start of <paramref name="buffer"/>.</summary>
    /// <param name="consumed">On <see cref="RespParseStatus.Complete"/>: the position just after the request.</param>
    public RespParseStatus TryParse(in ReadOnlySequence<byte> buffer, RespRequest request, out SequencePosition consumed)
    {
        consumed = buffer.Start;
        LastRequestInScratch = false;
        if (buffer.Length < _needed) return RespParseStatus.Incomplete;
        _needed = 0;

        ReadOnlyMemory<byte> first = buffer.First;
        request.Reset(first);
        var status = ParseContiguous(first.Span, request, out var used, out var needed);
        if (status == RespParseStatus.Complete)
        {
            consumed = buffer.GetPosition(used);
            return status;
        }
        if (status == RespParseStatus.Malformed || buffer.IsSingleSegment)
        {
            _needed = needed;
            return status;
        }
        return ParseStraddling(buffer, request, Math.Max(needed, first.Length + 1), out consumed);
    }

    private RespParseStatus ParseStraddling(in ReadOnlySequence<byte> buffer, RespRequest request, long needed, out SequencePosition consumed)
    {
        consumed = buffer.Start;
        long copied = 0;
        while (true)
        {
            if (buffer.Length < needed)
            {
                _needed = needed;
                return RespParseStatus.Incomplete;
            }
            var take = Math.Min(buffer.Length, Math.Max(needed, copied * 2));
            if (_scratch.Length < take)
            {
                if (_scratch.Length > 0) ArrayPool<byte>.Shared.Return(_scratch);
                _scratch = ArrayPool<byte>.Shared.Rent((int)take);
            }
            buffer.Slice(0, take).CopyTo(_scratch);
            copied = take;
            var memory = new ReadOnlyMemory<byte>(_scratch, 0, (int)take);
            request.Reset(memory);
            var status = ParseContiguous(memory.Span, request, out var used, out var more);
            if (status == RespParseStatus.Complete)
            {
                consumed = buffer.GetPosition(used);
                LastRequestInScratch = true;
                return status;
            }
            if (status == RespParseStatus.Malformed) return status;
            if (copied == buffer.Length)
            {
                _needed = Math.Max(more, copied + 1);
                return RespParseStatus.Incomplete;
            }
            needed = Math.Max(more, copied + 1);
        }
    }

    /// <summary>Parses one request from a contiguous span. <paramref name="needed"/>: on Incomplete, the smallest total length that could complete it.</summary>
    public RespParseStatus ParseContiguous(ReadOnlySpan<byte> s, RespRequest request, out int consumed, out long needed)
    {
        consumed = 0;
        needed = 1;
        Error = null;
        if (s.IsEmpty) return RespParseStatus.Incomplete;
        return s[0] == (byte)'*'
            ? ParseMultibulk(s, request, out consumed, out needed)
            : ParseInline(s, request, out consumed, out needed);
    }

    private RespParseStatus ParseMultibulk(ReadOnlySpan<byte> s, RespRequest request, out int consumed, out long needed)
    {
        consumed = 0;
        var header = ReadHeaderLine(s, 0, out var count, out var pos, out needed);
        if (header == HeaderResult.Incomplete) return RespParseStatus.Incomplete;
        if (header == HeaderResult.TooLong) return Fail("Protocol error: too big mbulk count string");
        if (header == HeaderResult.Invalid) return Fail("Protocol error: invalid multibulk length");
        if (count <= 0)
        {
            consumed = pos;
            return RespParseStatus.Complete;
        }
        if (count > Limits.MaxArgumentCount)
        {
            return Fail(ReferenceEquals(Limits, RespLimits.Unauthenticated)
                ? "Protocol error: unauthenticated multibulk length"
                : "Protocol error: invalid multibulk length");
        }

        for (long i = 0; i < count; i++)
        {
            if (pos >= s.Length)
            {
                needed = pos + 1;
                return RequestSizeCheck(needed);
            }
            if (s[pos] != (byte)'$') return FailExpectedDollar(s[pos]);
            header = ReadHeaderLine(s, pos, out var length, out var dataStart, out needed);
            if (header == HeaderResult.Incomplete) return RequestSizeCheck(needed);
            if (header == HeaderResult.TooLong) return Fail("Protocol error: too big bulk count string");
            if (header == HeaderResult.Invalid || length < 0) return Fail("Protocol error: invalid bulk length");
            if (length > Limits.MaxBulkLength)
            {
                return Fail(ReferenceEquals(Limits, RespLimits.Unauthenticated)
                    ? "Protocol error: unauthenticated bulk length"
                    : "Protocol error: invalid bulk length");
            }
            var end = dataStart + length;
            if (end + 2 > s.Length)
            {
                needed = end + 2;
                return RequestSizeCheck(needed);
            }
            if (s[(int)end] != (byte)'\r' || s[(int)end + 1] != (byte)'\n')
                return Fail("Protocol error: bulk length does not match the data (expected CRLF after the argument)");
            request.Add(dataStart, (int)length);
            pos = (int)end + 2;
            if (pos > Limits.MaxRequestBytes) return RequestSizeCheck(pos);
        }
        consumed = pos;
        return RespParseStatus.Complete;
    }

    private RespParseStatus RequestSizeCheck(long needed) =>
        needed > Limits.MaxRequestBytes
            ? Fail("Protocol error: request is larger than the configured maximum (max-request-bytes)")
            : RespParseStatus.Incomplete;

    private enum HeaderResult { Ok, Incomplete, Invalid, TooLong }

    /// <summary>Reads "&lt;type&gt;&lt;integer&gt;CRLF" starting at <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static HeaderResult ReadHeaderLine(ReadOnlySpan<byte> s, int start, out long value, out int next, out long needed)
    {
        value = 0;
        next = 0;
        needed = 0;
        var rest = s[(start + 1)..];
        var cr = rest.Length > MaxHeaderLineLength ? rest[..MaxHeaderLineLength].IndexOf((byte)'\r') : rest.IndexOf((byte)'\r');
        if (cr < 0)
        {
            if (rest.Length >= MaxHeaderLineLength) return HeaderResult.TooLong;
            needed = s.Length + 1;
            return HeaderResult.Incomplete;
        }
        if (cr + 1 >= rest.Length)
        {
            needed = start + 1 + cr + 2;
            return HeaderResult.Incomplete;
        }
        if (rest[cr + 1] != (byte)'\n') return HeaderResult.Invalid; // lone CR
        if (!TryParseInt64(rest[..cr], out value)) return HeaderResult.Invalid;
        next = start + 1 + cr + 2;
        return HeaderResult.Ok;
    }

    /// <summary>Strict decimal: optional '-', at least one digit, nothing else, no overflow.</summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        var negative = false;
        if (!digits.IsEmpty && digits[0] == (byte)'-')
        {
            negative = true;
            digits = digits[1..];
        }
        if (digits.IsEmpty || digits.Length > 19) return false;
        ulong acc = 0;
        foreach (var b in digits)
        {
            var d = (uint)(b - '0');
            if (d > 9) return false;
            acc = (acc * 10) + d;
        }
        if (negative)
        {
            if (acc > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - acc);
            return true;
        }
        if (acc > long.MaxValue) return false;
        value = (long)acc;
        return true;
    }

    private RespParseStatus ParseInline(ReadOnlySpan<byte> s, RespRequest request, out int consumed, out long needed)
    {
        consumed = 0;
        needed = 0;
        var first = s[0];
        if ((first < 0x20 && first is not ((byte)'\r' or (byte)'\n' or (byte)'\t')) || first >= 0x7f)
            return Fail("Protocol error: unexpected binary data; kv-node speaks plain-text RESP (no TLS)");

        var limit = Math.Min(s.Length, Limits.MaxInlineLength + 1);
        var nl = s[..limit].IndexOf((byte)'\n');
        if (nl < 0)
        {
            if (s.Length > Limits.MaxInlineLength) return Fail("Protocol error: too big inline request");
            needed = s.Length + 1;
            return RespParseStatus.Incomplete;
        }
        request.IsInline = true;
        var lineLength = nl > 0 && s[nl - 1] == (byte)'\r' ? nl - 1 : nl;
        var line = s[..lineLength];
        var i = 0;
        while (true)
        {
            while (i < line.Length && IsInlineSpace(line[i])) i++;
            if (i >= line.Length) break;
            var quote = line[i];
            if (quote is (byte)'"' or (byte)'\'')
            {
                var close = line[(i + 1)..].IndexOf(quote);
                if (close < 0) return Fail("Protocol error: unbalanced quotes in request");
                var after = i + 1 + close + 1;
                if (after < line.Length && !IsInlineSpace(line[after])) return Fail("Protocol error: unbalanced quotes in request");
                request.Add(i + 1, close);
                i = after;
            }
            else
            {
                var start = i;
                while (i < line.Length && !IsInlineSpace(line[i])) i++;
                request.Add(start, i - start);
            }
            if (request.Count > Limits.MaxArgumentCount) return Fail("Protocol error: invalid multibulk length");
        }
        consumed = nl + 1;
        return RespParseStatus.Complete;
    }

    private static bool IsInlineSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private RespParseStatus Fail(string message)
    {
        Error = message;
        return RespParseStatus.Malformed;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private RespParseStatus FailExpectedDollar(byte got) =>
        Fail(got is >= 0x20 and < 0x7f
            ? $"Protocol error: expected '$', got '{(char)got}'"
            : $"Protocol error: expected '$', got byte 0x{got:x2}");

    public void Dispose()
    {
        if (_scratch.Length > 0) ArrayPool<byte>.Shared.Return(_scratch);
        _scratch = [];
    }
}
