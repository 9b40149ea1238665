using System.Net;
using System.Net.Sockets;
using Kv.Node.Hosting;
using Kv.Node.Resp;
using Kv.Node.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Kv.Node.Tests.Support;

/// <summary>An in-process RESP server on 127.0.0.1, port 0, over a given keyspace.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly Func<ValueTask> _dispose;

    private TestServer(RespServer server, Func<ValueTask>? dispose = null)
    {
        Server = server;
        _dispose = dispose ?? server.DisposeAsync;
    }

    /// <summary>A whole node (engine included) in a data directory, as kv-node runs it.</summary>
    public static async Task<TestServer> StartNodeAsync(string dataDirectory, TimeProvider? time = null, Action<NodeOptions>? configure = null)
    {
        var options = new NodeOptions
        {
            DataDirectory = dataDirectory,
            RespPort = 0,
            Bind = "127.0.0.1",
            AdminCommands = AdminCommandsMode.All,
            ShutdownTimeout = TimeSpan.FromSeconds(5),
            MemtableSizeBytes = 4 << 20,
            BlockCacheBytes = 8 << 20,
        };
        configure?.Invoke(options);
        var host = await NodeHost.StartAsync(options, NullLoggerFactory.Instance, time);
        return new TestServer(host.Server, host.DisposeAsync) { Host = host };
    }

    public NodeHost? Host { get; private init; }

    public RespServer Server { get; }

    public IPEndPoint EndPoint => Server.EndPoint!;

    public static async Task<TestServer> StartAsync(IKeyspace? keyspace = null, TimeProvider? time = null, Action<NodeOptions>? configure = null)
    {
        time ??= TimeProvider.System;
        var options = new NodeOptions { RespPort = 0, Bind = "127.0.0.1", AdminCommands = AdminCommandsMode.All, ShutdownTimeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        var server = new RespServer(options, keyspace ?? new InMemoryKeyspace(time), time, NullLoggerFactory.Instance);
        await server.StartAsync();
        return new TestServer(server);
    }

    public Task<ConnectionMultiplexer> ConnectAsync(int protocol = 2, string? password = null) =>
        ConnectAsync(EndPoint, protocol, password);

    public static Task<ConnectionMultiplexer> ConnectAsync(IPEndPoint endPoint, int protocol = 2, string? password = null)
    {
        var config = new ConfigurationOptions
        {
            EndPoints = { endPoint },
            AllowAdmin = true,
            Protocol = protocol == 3 ? RedisProtocol.Resp3 : RedisProtocol.Resp2,
            Password = password,
            // Generous: these tests check answers, not latency, and the suite runs its classes side by side on two
            // cores. With 5 s a pipeline test of 4000 commands failed once in a loaded run, this timeout being its only
            // time limit (a hang still fails).
            ConnectTimeout = 15000,
            SyncTimeout = 30000,
            AsyncTimeout = 30000,
            AbortOnConnectFail = true,
        };
        return ConnectionMultiplexer.ConnectAsync(config);
    }

    public async Task<RawClient> RawAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(EndPoint);
        return new RawClient(socket);
    }

    /// <summary>Asserts that a new connection gets PONG for PING: the server still serves.</summary>
    public async Task AssertServesPingAsync()
    {
        using var client = await RawAsync();
        await client.SendAsync("*1\r\n$4\r\nPING\r\n");
        Assert.Equal("+PONG\r\n", await client.ReceiveAsync(7));
    }

    public async ValueTask DisposeAsync() => await _dispose();
}
