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

    /// <summary>Reads until no byte arrives for 300 ms (for replies whose length the test does not know).</summary>
    public async Task<string> ReceiveUntilQuietAsync()
    {
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                all.Write(buffer, 0, n);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return Encoding.UTF8.GetString(all.ToArray());
    }

    public void Dispose() => Socket.Dispose();
}
