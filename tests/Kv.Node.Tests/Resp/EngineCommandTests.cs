using Kv.Node.Tests.Storage;
using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Resp;

/// <summary>The command suite against a whole node: the real engine in a temp data directory.</summary>
public sealed class EngineCommandTests : CommandTestsBase
{
    private readonly TempDirectory _directory = new();

    protected override Task<TestServer> StartServerAsync() => TestServer.StartNodeAsync(_directory.Path, Time);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }
}
