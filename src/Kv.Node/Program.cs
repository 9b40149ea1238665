using System.Runtime.InteropServices;
using Kv.Node.Hosting;
using Microsoft.Extensions.Logging;

namespace Kv.Node;

/// <summary>
/// <c>kv-node</c>: parse options, start the node, serve until SIGINT/SIGTERM or SHUTDOWN, stop gracefully.
/// Exit codes: 0 clean stop, 1 fatal runtime error, 2 invalid configuration (one-line message, no stack trace).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        NodeOptions? options;
        try
        {
            options = NodeOptionsBinder.Bind(args, Console.Out);
        }
        catch (ConfigurationException e)
        {
            await Console.Error.WriteLineAsync("kv-node: " + e.Message).ConfigureAwait(false);
            return 2;
        }
        if (options is null) return 0;
        // Read once by the socket engine when the first socket is created, which has not happened yet.
        // An explicit setting in the environment wins.
        const string inline = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(inline) is null) Environment.SetEnvironmentVariable(inline, options.InlineCompletions ? "1" : "0");
        const string ioThreads = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";
        if (options.IoThreads > 0 && Environment.GetEnvironmentVariable(ioThreads) is null)
            Environment.SetEnvironmentVariable(ioThreads, options.IoThreads.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var level = Enum.Parse<LogLevel>(options.LogLevel);
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(level)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            }));
        var logger = loggerFactory.CreateLogger("Kv.Node");

        NodeHost host;
        try
        {
            host = await NodeHost.StartAsync(options, loggerFactory).ConfigureAwait(false);
        }
        catch (ConfigurationException e)
        {
            loggerFactory.Dispose();
            await Console.Error.WriteLineAsync("kv-node: " + e.Message).ConfigureAwait(false);
            return 2;
        }
        catch (Exception e)
        {
            logger.LogCritical(e, "kv-node failed to start");
            return 1;
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we stop gracefully ourselves
            logger.LogInformation("received {Signal}", context.Signal);
            stop.TrySetResult();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        await Task.WhenAny(stop.Task, host.Server.ShutdownRequested).ConfigureAwait(false);
        try
        {
            await host.StopAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogCritical(e, "kv-node failed while stopping");
            return 1;
        }
        return 0;
    }
}
