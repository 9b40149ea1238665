using System.Net.Sockets;
using System.Text;

namespace Kv.Node.Tests.Support;

/// <summary>A bare socket for sending arbitrary bytes and reading raw replies.</summary>
public sealed class RawClient(Socket socket) : IDisposable
{
    public Socket Socket { get; } = socket;

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        var sent = 0;
        while (sent < bytes.Length) sent += await Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
    }

    /// <summary>Reads until <paramref name="expected"/> bytes arrived or the peer closed (then returns what came).</summary>
    public async Task<string> ReceiveAsync(int expected, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[Math.Max(expected, 1)];
        var total = 0;
        while (total < expected)
        {
            var n = await Socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cts.Token);
            if (n == 0) break;
            total += n;
        }
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    /// <summary>Reads everything until the server closes the connection; returns the text and whether it closed in time.</summary>
    public async Task<(string Text, bool Closed)> ReceiveUntilClosedAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return (Encoding.UTF8.GetString(all.ToArray()), true);
                all.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
            return (Encoding.UTF8.GetString(all.ToArray()), false);
        }
        catch (SocketException)
        {
            return (Encoding.UTF8.GetString(all.ToArray()), true);
        }
    }

    /// <summary>
    /// Reads until <paramref name="count"/> whole RESP replies arrived (replies of any length and nesting), or the
    /// peer closed, or <paramref name="timeout"/> (10 s by default) passed; returns the text received either way, so
    /// a short answer fails the test's own assertion with what did come.
    /// </summary>
    public async Task<string> ReceiveRepliesAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (CountReplies(all.GetBuffer().AsSpan(0, (int)all.Length)) < count)
            {
                var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                all.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
        }
        return Encoding.UTF8.GetString(all.ToArray());
    }

    /// <summary>How many complete top-level replies <paramref name="data"/> holds.</summary>
    internal static int CountReplies(ReadOnlySpan<byte> data)
    {
        var replies = 0;
        var offset = 0;
        while (TrySkipReply(data, ref offset)) replies++;
        return replies;
    }

    private static bool TrySkipReply(ReadOnlySpan<byte> data, ref int offset)
    {
        var end = data[offset..].IndexOf("\r\n"u8);
        if (end < 0) return false;
        var type = data[offset];
        var header = data.Slice(offset + 1, end - 1);
        var next = offset + end + 2;
        switch (type)
        {
            case (byte)'$' or (byte)'!' or (byte)'=': // bulk string, bulk error, verbatim string
                {
                    var length = int.Parse(header);
                    if (length >= 0)
                    {
                        if (next + length + 2 > data.Length) return false;
                        next += length + 2;
                    }
                    break;
                }
            case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%' or (byte)'|': // aggregates; maps and attributes hold pairs
                {
                    var elements = int.Parse(header);
                    if (type is (byte)'%' or (byte)'|') elements *= 2;
                    for (var i = 0; i < elements; i++)
                        if (!TrySkipReply(data, ref next)) return false;
                    if (type == (byte)'|' && !TrySkipReply(data, ref next)) return false; // an attribute comes before its reply
                    break;
                }
        }
        offset = next;
        return true;
    }

    public void Dispose() => Socket.Dispose();
}
