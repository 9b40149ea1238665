using System.Net;
using System.Net.Sockets;
using Kv.Node.Resp.Net;
using Kv.Node.Tests.Cluster;

namespace Kv.Node.Tests.Resp;

/// <summary><see cref="EpollLoop.AnyThreadBusy"/>, which the engine's flush pacing reads: true while a loop thread handles
/// an event, and for a few milliseconds after; false when the loop has had nothing to do.</summary>
public sealed class EpollLoopBusyTests
{
    [Fact]
    public async Task Busy_WhileAThreadHandlesAnEvent_AndNotLongBeforeOrAfter()
    {
        if (!Epoll.IsSupported) return; // the loop exists on Linux x86-64 only
        var loop = new EpollLoop(threads: 2, inlineCompletions: true, new ListLogger());
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        var polled = loop.Register(await listener.AcceptAsync());
        try
        {
            // Registration may report the socket writable once: wait for that event to pass.
            await WaitUntilAsync(() => !loop.AnyThreadBusy, "the loop stayed busy with no request");

            using var inside = new ManualResetEventSlim();
            using var release = new ManualResetEventSlim();
            var busyInside = false;
            var buffer = new byte[16];
            // With inline completions the receive's continuation runs on the loop thread, inside the event.
            var handled = polled.ReceiveAsync(buffer, CancellationToken.None).AsTask().ContinueWith(t =>
            {
                busyInside = loop.AnyThreadBusy;
                inside.Set();
                release.Wait(TimeSpan.FromSeconds(30));
                return t.Result;
            }, TaskContinuationOptions.ExecuteSynchronously);

            await client.SendAsync(new byte[] { 1, 2, 3 });
            Assert.True(inside.Wait(TimeSpan.FromSeconds(30)), "the receive never completed");
            Assert.True(busyInside);
            Assert.True(loop.AnyThreadBusy, "seen from another thread while the event runs");
            release.Set();
            Assert.Equal(3, await handled);
            await WaitUntilAsync(() => !loop.AnyThreadBusy, "the loop stayed busy long after the event ended");
        }
        finally
        {
            polled.Close();
            loop.Dispose();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(5);
        }
    }
}
