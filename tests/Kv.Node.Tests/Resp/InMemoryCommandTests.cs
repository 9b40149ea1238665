using Kv.Node.Tests.Support;

namespace Kv.Node.Tests.Resp;

/// <summary>The command suite over the in-memory test keyspace (the command layer alone).</summary>
public sealed class InMemoryCommandTests : CommandTestsBase
{
    protected override Task<TestServer> StartServerAsync() => TestServer.StartAsync(new InMemoryKeyspace(Time), Time);
}
