using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;

namespace Kv.Protocol.Resp;

/// <summary>
/// Writes replies in RESP2 or RESP3 into an <see cref="IBufferWriter{T}"/> (a connection's reply outbox).
/// </summary>
/// <remarks>
/// Threading: owned by one connection, not thread-safe. Allocation-free: every reply is formatted straight
/// into the destination's memory. Where RESP3 has a richer type (null, map, double, boolean) the RESP2 form
/// is the one Redis itself sends to RESP2 clients.
/// <code>
/// simple := '+' text CRLF      error := '-' text CRLF       integer := ':' digits CRLF
/// bulk   := '$' length CRLF bytes CRLF                       null    := '$-1' CRLF (RESP2) | '_' CRLF (RESP3)
/// array  := '*' count CRLF items                              map     := '%' count CRLF pairs (RESP3; RESP2: array of 2*count)
/// double := ',' text CRLF (RESP3; RESP2: bulk)                bool    := '#t'|'#f' CRLF (RESP3; RESP2: integer 1|0)
/// </code>
/// </remarks>
public sealed class RespReplyWriter
{
    private IBufferWriter<byte> _output;

    public RespReplyWriter(IBufferWriter<byte> output, int protocolVersion = 2)
    {
        _output = output;
        ProtocolVersion = protocolVersion;
    }

    /// <summary>2 or 3 (changed by HELLO).</summary>
    public int ProtocolVersion { get; set; }

    public bool IsResp3 => ProtocolVersion >= 3;

    public IBufferWriter<byte> Output
    {
        get => _output;
        set => _output = value;
    }

    /// <summary>Writes pre-encoded reply bytes verbatim, e.g. <c>"+OK\r\n"u8</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        var span = _output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        _output.Advance(bytes.Length);
    }

    public void WriteOk() => WriteRaw("+OK\r\n"u8);

    public void WriteSimpleString(ReadOnlySpan<byte> text)
    {
        var span = _output.GetSpan(text.Length + 3);
        span[0] = (byte)'+';
        text.CopyTo(span[1..]);
        span[text.Length + 1] = (byte)'\r';
        span[text.Length + 2] = (byte)'\n';
        _output.Advance(text.Length + 3);
    }

    /// <summary>Writes an error; <paramref name="message"/> includes its prefix ("ERR ...", "NOAUTH ...").</summary>
    public void WriteError(ReadOnlySpan<byte> message)
    {
        var span = _output.GetSpan(message.Length + 3);
        span[0] = (byte)'-';
        message.CopyTo(span[1..]);
        span[message.Length + 1] = (byte)'\r';
        span[message.Length + 2] = (byte)'\n';
        _output.Advance(message.Length + 3);
    }

    /// <summary>Writes an error from text (error paths only: encodes to UTF-8, CR/LF replaced by spaces).</summary>
    public void WriteError(string message)
    {
        var max = Encoding.UTF8.GetMaxByteCount(message.Length) + 3;
        var span = _output.GetSpan(max);
        span[0] = (byte)'-';
        var n = Encoding.UTF8.GetBytes(message, span[1..]);
        for (var i = 1; i <= n; i++)
        {
            if (span[i] is (byte)'\r' or (byte)'\n') span[i] = (byte)' ';
        }
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        _output.Advance(n + 3);
    }

    public void WriteInteger(long value) => WritePrefixedNumber((byte)':', value);

    public void WriteArrayHeader(int count) => WritePrefixedNumber((byte)'*', count);

    /// <summary>A map of <paramref name="pairs"/> entries: '%' in RESP3, a flat array in RESP2.</summary>
    public void WriteMapHeader(int pairs)
    {
        if (IsResp3) WritePrefixedNumber((byte)'%', pairs);
        else WritePrefixedNumber((byte)'*', pairs * 2L);
    }

    /// <summary>A set: '~' in RESP3, an array in RESP2.</summary>
    public void WriteSetHeader(int count) => WritePrefixedNumber(IsResp3 ? (byte)'~' : (byte)'*', count);

    public void WriteNull() => WriteRaw(IsResp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    public void WriteNullArray() => WriteRaw(IsResp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    public void WriteBoolean(bool value)
    {
        if (IsResp3) WriteRaw(value ? "#t\r\n"u8 : "#f\r\n"u8);
        else WriteRaw(value ? ":1\r\n"u8 : ":0\r\n"u8);
    }

    public void WriteBulk(ReadOnlySpan<byte> value)
    {
        var span = _output.GetSpan(value.Length + 24);
        span[0] = (byte)'$';
        Utf8Formatter.TryFormat(value.Length, span[1..], out var n);
        var pos = n + 1;
        span[pos++] = (byte)'\r';
        span[pos++] = (byte)'\n';
        value.CopyTo(span[pos..]);
        pos += value.Length;
        span[pos++] = (byte)'\r';
        span[pos++] = (byte)'\n';
        _output.Advance(pos);
    }

    /// <summary>Writes a bulk string from text (non-hot paths: INFO, CONFIG, CLIENT).</summary>
    public void WriteBulk(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteBulkHeader(length);
        var span = _output.GetSpan(length + 2);
        Encoding.UTF8.GetBytes(value, span);
        span[length] = (byte)'\r';
        span[length + 1] = (byte)'\n';
        _output.Advance(length + 2);
    }

    /// <summary>Writes the "$len\r\n" header of a bulk string whose bytes the caller writes next, then <see cref="WriteBulkTrailer"/>.</summary>
    public void WriteBulkHeader(long length) => WritePrefixedNumber((byte)'$', length);

    public void WriteBulkTrailer() => WriteRaw("\r\n"u8);

    /// <summary>A double: ',' in RESP3, a bulk string in RESP2.</summary>
    public void WriteDouble(double value)
    {
        Span<byte> text = stackalloc byte[32];
        Utf8Formatter.TryFormat(value, text, out var n);
        if (IsResp3)
        {
            var span = _output.GetSpan(n + 3);
            span[0] = (byte)',';
            text[..n].CopyTo(span[1..]);
            span[n + 1] = (byte)'\r';
            span[n + 2] = (byte)'\n';
            _output.Advance(n + 3);
        }
        else
        {
            WriteBulk(text[..n]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WritePrefixedNumber(byte prefix, long value)
    {
        var span = _output.GetSpan(24);
        span[0] = prefix;
        Utf8Formatter.TryFormat(value, span[1..], out var n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        _output.Advance(n + 3);
    }
}
