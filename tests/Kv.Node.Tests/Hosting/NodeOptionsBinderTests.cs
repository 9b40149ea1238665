using Kv.Node.Hosting;
using Kv.Node.Resp;

namespace Kv.Node.Tests.Hosting;

public sealed class NodeOptionsBinderTests
{
    private static NodeOptions Bind(string[] args, Dictionary<string, string?>? env = null) =>
        NodeOptionsBinder.Bind(args, TextWriter.Null, env ?? new Dictionary<string, string?>())!;

    [Fact]
    public void Bind_NoArguments_Defaults()
    {
        var o = Bind([]);
        Assert.Equal("./data", o.DataDirectory);
        Assert.Equal(6379, o.RespPort);
        Assert.Equal("127.0.0.1", o.Bind);
        Assert.Equal(AdminCommandsMode.Local, o.AdminCommands);
    }

    [Fact]
    public void Bind_IoThreads_DefaultsToTheRuntimesChoiceAndKeepsAnExplicitCount()
    {
        Assert.Equal(0, Bind([]).IoThreads);
        Assert.Equal(3, Bind(["--io-threads", "3"]).IoThreads);
        Assert.Equal(1, Bind([], new Dictionary<string, string?> { ["KV_IO_THREADS"] = "1" }).IoThreads);
        Assert.StartsWith("io-threads: '-1' is not an integer between 0 and 1024", Assert.Throws<ConfigurationException>(() => Bind(["--io-threads", "-1"])).Message);
    }

    [Fact]
    public void Bind_SocketEngine_DefaultsToEpollAndNamesTheChoicesWhenWrong()
    {
        Assert.Equal(SocketEngine.Epoll, Bind([]).SocketEngine);
        Assert.Equal(SocketEngine.Runtime, Bind(["--socket-engine", "runtime"]).SocketEngine);
        Assert.Equal(SocketEngine.Runtime, Bind([], new Dictionary<string, string?> { ["KV_SOCKET_ENGINE"] = "Runtime" }).SocketEngine);
        Assert.Equal("socket-engine: 'uring' is not one of epoll, runtime", Assert.Throws<ConfigurationException>(() => Bind(["--socket-engine", "uring"])).Message);
    }

    [Fact]
    public void Bind_EngineReadAndWalOptions_DefaultsAndOverrides()
    {
        var defaults = Bind([]);
        Assert.Equal(4L << 20, defaults.WalPreallocateBytes);
        Assert.True(defaults.PrepopulateBlockCache);
        var o = Bind(["--wal-preallocate", "0", "--prepopulate-block-cache", "false"]);
        Assert.Equal(0, o.WalPreallocateBytes);
        Assert.False(o.PrepopulateBlockCache);
        Assert.Equal(16L << 20, Bind(["--wal-preallocate", "16mb"]).WalPreallocateBytes);
        Assert.StartsWith("wal-preallocate: ", Assert.Throws<ConfigurationException>(() => Bind(["--wal-preallocate", "lots"])).Message);
    }

    [Fact]
    public void Bind_CommandLineOverEnvironmentOverFile_PrecedenceHolds()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, """{ "resp-port": 7000, "bind": "0.0.0.0", "max-bulk-length": "1mb", "idle-timeout": 30 }""");
            var env = new Dictionary<string, string?> { ["KV_RESP_PORT"] = "7001", ["KV_ADMIN_COMMANDS"] = "none" };
            var o = Bind(["--config", file, "--resp-port=7002", "--data", "/tmp/x"], env);
            Assert.Equal(7002, o.RespPort);
            Assert.Equal("0.0.0.0", o.Bind);
            Assert.Equal(1024 * 1024, o.MaxBulkLength);
            Assert.Equal(TimeSpan.FromSeconds(30), o.IdleTimeout);
            Assert.Equal(AdminCommandsMode.None, o.AdminCommands);
            Assert.Equal("/tmp/x", o.DataDirectory);
            Assert.Equal(7001, Bind([], env).RespPort);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--resp-port", "99999", "resp-port: '99999' is not an integer between 0 and 65535")]
    [InlineData("--max-bulk-length", "lots", "max-bulk-length: 'lots' is not a size")]
    [InlineData("--sync", "sometimes", "sync: 'sometimes' is not one of always, periodic")]
    [InlineData("--bogus", "1", "unknown option --bogus")]
    public void Bind_BadValue_ClearMessage(string option, string value, string message)
    {
        var e = Assert.Throws<ConfigurationException>(() => Bind([option, value]));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Bind_BadConfigFile_ClearMessage()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "{ not json");
            Assert.Contains("is not valid JSON", Assert.Throws<ConfigurationException>(() => Bind(["--config", file])).Message);
            File.WriteAllText(file, """{ "resp_port": 1 }""");
            Assert.Contains("unknown setting 'resp_port'", Assert.Throws<ConfigurationException>(() => Bind(["--config", file])).Message);
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Contains("does not exist", Assert.Throws<ConfigurationException>(() => Bind(["--config", "/nonexistent/kv.json"])).Message);
    }

    [Fact]
    public void Help_ListsEveryOption()
    {
        var output = new StringWriter();
        Assert.Null(NodeOptionsBinder.Bind(["--help"], output, new Dictionary<string, string?>()));
        foreach (var name in new[] { "--data", "--resp-port", "--bind", "--password", "--max-clients", "--output-buffer-limit", "--request-timeout", "--idle-timeout", "--config" })
            Assert.Contains(name, output.ToString());
    }

    [Fact]
    public void Help_EveryOptionLine_HasItsDescriptionInOneColumnAfterAGap()
    {
        var output = new StringWriter();
        NodeOptionsBinder.Bind(["--help"], output, new Dictionary<string, string?>());
        var lines = output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("  --", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count > 20);
        var columns = new HashSet<int>();
        foreach (var line in lines)
        {
            var gap = line.IndexOf("  ", 2, StringComparison.Ordinal); // labels have single spaces only
            Assert.True(gap > 2, $"the option runs into its description: {line}");
            var description = gap;
            while (description < line.Length && line[description] == ' ') description++;
            columns.Add(description);
        }
        Assert.Single(columns);
    }
}
