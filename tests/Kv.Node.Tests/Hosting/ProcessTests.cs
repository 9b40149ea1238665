using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Kv.Node.Tests.Storage;
using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Hosting;

/// <summary>The kv-node executable itself: bad configuration exits 2 with one line; SIGTERM stops it cleanly.</summary>
public sealed class ProcessTests
{
    private static string NodeDll => Path.Combine(AppContext.BaseDirectory, "kv-node.dll");

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(NodeDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    /// <summary>
    /// Starts a node whose output is read as it comes: a node logging into a pipe nobody drains blocks once the pipe
    /// fills (and then never exits); the output also explains a node that does not stop.
    /// </summary>
    private static ServingNode StartServing(params string[] args) => new(Start(args));

    private sealed class ServingNode : IDisposable
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

        public ServingNode(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public int Id => Process.Id;

        public int ExitCode => Process.ExitCode;

        /// <summary>Asserts the node exits within 20 s, showing its last output lines when it does not.</summary>
        public void AssertExits()
        {
            if (Process.WaitForExit(20_000)) return;
            Assert.Fail("kv-node did not exit within 20 s; its last output:\n" + string.Join('\n', _output.TakeLast(40)));
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill();
            Process.Dispose();
        }
    }

    [Theory]
    [InlineData("--resp-port", "70000")]
    [InlineData("--no-such-option", "1")]
    [InlineData("--bind", "not-an-address")]
    public async Task BadConfiguration_ExitsWithCode2AndOneLine(string option, string value)
    {
        using var dir = new TempDirectory();
        using var process = Start("--data", dir.Path, option, value);
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(2, process.ExitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("kv-node: ", line);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task Help_ListsOptions_ExitsZero()
    {
        using var process = Start("--help");
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("--resp-port", stdout);
        Assert.Contains("KV_", stdout);
    }

    [Fact]
    public async Task Sigterm_ServingNode_StopsGracefullyAndKeepsData()
    {
        using var dir = new TempDirectory();
        var port = FreePort();
        using (var process = StartServing("--data", dir.Path, "--resp-port", port.ToString()))
        {
            await using (var redis = await ConnectWhenUpAsync(port))
            {
                await redis.GetDatabase().StringSetAsync("durable", "yes");
            }
            Kill(process.Id, "TERM");
            process.AssertExits();
            Assert.Equal(0, process.ExitCode);
        }
        using (var process = StartServing("--data", dir.Path, "--resp-port", port.ToString()))
        {
            await using (var redis = await ConnectWhenUpAsync(port))
            {
                Assert.Equal("yes", await redis.GetDatabase().StringGetAsync("durable"));
            }
            // A process whose SIGINT is ignored (a background job of a non-interactive shell) passes that on to the node
            // it starts, and the node keeps ignoring it, as Unix intends for background jobs: then stop it with SIGTERM.
            Kill(process.Id, SigintIgnoredHere() ? "TERM" : "INT");
            process.AssertExits();
            Assert.Equal(0, process.ExitCode);
        }
    }

    /// <summary>
    /// Crash loop: writers pipeline SETs against a real kv-node, which is SIGKILLed at a random moment; after a
    /// restart every SET whose OK reply arrived must read back. Three rounds here; KV_SOAK=1 runs twenty.
    /// </summary>
    [Fact]
    public async Task Sigkill_DuringWrites_EveryAcknowledgedSetSurvivesRestart()
    {
        using var dir = new TempDirectory();
        var port = FreePort();
        var rounds = Environment.GetEnvironmentVariable("KV_SOAK") == "1" ? 20 : 3;
        var random = new Random(4242);
        var acked = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        for (var round = 0; round < rounds; round++)
        {
            using var process = StartServing("--data", dir.Path, "--resp-port", port.ToString());
            await using (var redis = await ConnectWhenUpAsync(port))
            {
                // Everything acknowledged by the previous incarnations is still there.
                var db = redis.GetDatabase();
                foreach (var (key, value) in acked) Assert.Equal(value, (string?)await db.StringGetAsync(key));

                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
                {
                    for (var i = 0; !stop.IsCancellationRequested; i++)
                    {
                        var key = $"r{round}-w{w}-{i}";
                        try
                        {
                            if (await db.StringSetAsync(key, key + "-value")) acked[key] = key + "-value";
                        }
                        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException or ObjectDisposedException)
                        {
                            return; // the node died under us: this write was not acknowledged
                        }
                    }
                })).ToArray();
                await Task.Delay(random.Next(200, 1200));
                Kill(process.Id, "KILL");
                process.AssertExits();
                stop.Cancel();
                await Task.WhenAll(writers);
            }
        }
        using (var process = StartServing("--data", dir.Path, "--resp-port", port.ToString()))
        {
            await using (var redis = await ConnectWhenUpAsync(port))
            {
                var db = redis.GetDatabase();
                Assert.NotEmpty(acked);
                foreach (var (key, value) in acked) Assert.Equal(value, (string?)await db.StringGetAsync(key));
            }
            Kill(process.Id, "TERM");
            process.AssertExits();
        }
    }

    private static bool SigintIgnoredHere()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (2 - 1))) != 0; // SIGINT is 2
    }

    private static void Kill(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString()]);
        kill.WaitForExit();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<StackExchange.Redis.ConnectionMultiplexer> ConnectWhenUpAsync(int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(endPoint);
                return await TestServer.ConnectAsync(endPoint);
            }
            catch (SocketException) when (attempt < 200)
            {
                await Task.Delay(100);
            }
        }
    }
}
