using Kv.Node.Resp.Net;
using Kv.Node.Tests.Cluster;

namespace Kv.Node.Tests.Resp;

public sealed class IoEventTests
{
    private sealed class Work(List<string> log, string name, Action? during = null) : IEndOfEventWork
    {
        public void Run()
        {
            log.Add(name);
            during?.Invoke();
        }
    }

    [Fact]
    public void Deferred_RunsAtTheOutermostEnd_InOrder_IncludingWorkDeferredWhileRunning()
    {
        var log = new List<string>();
        Assert.False(IoEvent.InProgress);
        IoEvent.Begin();
        Assert.True(IoEvent.InProgress);
        IoEvent.Defer(new Work(log, "a", () => IoEvent.Defer(new Work(log, "c"))));
        IoEvent.Begin(); // nested: a completion running inline inside the event
        IoEvent.Defer(new Work(log, "b"));
        IoEvent.End(new ListLogger());
        Assert.Empty(log); // only the outermost end runs them
        IoEvent.End(new ListLogger());
        Assert.Equal(["a", "b", "c"], log);
        Assert.False(IoEvent.InProgress);

        // The next event starts with nothing deferred.
        IoEvent.Begin();
        IoEvent.End(new ListLogger());
        Assert.Equal(3, log.Count);
    }

    [Fact]
    public void Deferred_OneThrows_IsLoggedAndTheRestStillRun()
    {
        var log = new List<string>();
        var logger = new ListLogger();
        IoEvent.Begin();
        IoEvent.Defer(new Work(log, "a", () => throw new InvalidOperationException("boom")));
        IoEvent.Defer(new Work(log, "b"));
        IoEvent.End(logger);
        Assert.Equal(["a", "b"], log);
        Assert.Contains(logger.Entries, e => e.Message.Contains("deferred to the end of an event failed"));
        Assert.False(IoEvent.InProgress);
    }

    [Fact]
    public void Defer_OutsideAnEvent_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => IoEvent.Defer(new Work([], "x")));
    }
}
