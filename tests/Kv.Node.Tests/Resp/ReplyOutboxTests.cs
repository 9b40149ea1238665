using System.Net.Sockets;
using System.Text;
using Kv.Node.Resp;
using Kv.Node.Resp.Net;

namespace Kv.Node.Tests.Resp;

public class ReplyOutboxTests
{
    [Fact]
    public void Flush_SocketTakesEverything_SentAtOnceOnTheCallingThread()
    {
        var transport = new ScriptedTransport();
        var outbox = new ReplyOutbox(transport, 1024, _ => Assert.Fail("no send failed"));

        Write(outbox, "+OK\r\n$3\r\nabc\r\n");

        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        Assert.Equal("+OK\r\n$3\r\nabc\r\n", transport.Received);
        Assert.Equal(0, outbox.Unflushed);
        Assert.Equal(0, outbox.Waiting);
    }

    [Fact]
    public void Flush_SocketTakesSomeBytesPerSend_SendsUntilAllAreTaken()
    {
        var transport = new ScriptedTransport { MaxPerSend = 3 };
        var outbox = new ReplyOutbox(transport, 1024, _ => Assert.Fail("no send failed"));

        Write(outbox, "0123456789abcdef");

        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        Assert.Equal("0123456789abcdef", transport.Received);
        Assert.Equal(0, outbox.Waiting);
    }

    [Fact]
    public async Task Flush_SocketFull_RestSentLaterAndLaterRepliesQueueBehindInOrder()
    {
        var transport = new ScriptedTransport { AcceptBeforeBlocking = 4 };
        var outbox = new ReplyOutbox(transport, 1024, _ => Assert.Fail("no send failed"));

        Write(outbox, "first-batch;");
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        Write(outbox, "second;");
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        Write(outbox, "third;");
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());

        Assert.Equal("firs", transport.Received);
        Assert.Equal("t-batch;second;third;".Length, outbox.Waiting);

        transport.Unblock();
        await outbox.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("first-batch;second;third;", transport.Received);
        Assert.Equal(0, outbox.Waiting);

        Write(outbox, "fourth;"); // sent directly again once the queue drained
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        Assert.Equal("first-batch;second;third;fourth;", transport.Received);
    }

    [Fact]
    public void Flush_MoreThanTheLimitWouldWait_OverLimitAndNotQueued()
    {
        var transport = new ScriptedTransport { AcceptBeforeBlocking = 0 };
        var outbox = new ReplyOutbox(transport, 100, _ => { });

        Write(outbox, new string('a', 60));
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        Write(outbox, new string('b', 40));
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush()); // exactly at the limit
        Write(outbox, "c");

        Assert.Equal(OutboxFlush.OverLimit, outbox.Flush());
        Assert.Equal(100, outbox.Waiting);
    }

    [Fact]
    public void Flush_OneBatchLargerThanTheLimitLeftUnsent_OverLimit()
    {
        var transport = new ScriptedTransport { AcceptBeforeBlocking = 10 };
        var outbox = new ReplyOutbox(transport, 100, _ => { });

        Write(outbox, new string('a', 111));

        Assert.Equal(OutboxFlush.OverLimit, outbox.Flush());
    }

    [Fact]
    public async Task Flush_AfterABackgroundSendFailed_FailedAndTheFailureReported()
    {
        var transport = new ScriptedTransport { AcceptBeforeBlocking = 2 };
        Exception? reported = null;
        var outbox = new ReplyOutbox(transport, 1024, e => reported = e);

        Write(outbox, "hello");
        Assert.Equal(OutboxFlush.Accepted, outbox.Flush());
        transport.Fail(new IOException("connection reset"));
        await outbox.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.IsType<IOException>(reported);
        Write(outbox, "more");
        Assert.Equal(OutboxFlush.Failed, outbox.Flush());
        Assert.Equal("he", transport.Received);
    }

    [Fact]
    public async Task CompleteAsync_UnflushedReplies_SentBeforeItReturns()
    {
        var transport = new ScriptedTransport();
        var outbox = new ReplyOutbox(transport, 1024, _ => Assert.Fail("no send failed"));

        Write(outbox, "-ERR closing\r\n");
        await outbox.CompleteAsync();

        Assert.Equal("-ERR closing\r\n", transport.Received);
    }

    [Fact]
    public async Task Discard_UnflushedReplies_NeverSent()
    {
        var transport = new ScriptedTransport();
        var outbox = new ReplyOutbox(transport, 1024, _ => Assert.Fail("no send failed"));
        Write(outbox, "+OK\r\n");
        outbox.Flush();

        Write(outbox, "+OK\r\n");
        outbox.Discard();
        await outbox.CompleteAsync();

        Assert.Equal("+OK\r\n", transport.Received);
    }

    private static void Write(ReplyOutbox outbox, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        bytes.CopyTo(outbox.GetSpan(bytes.Length));
        outbox.Advance(bytes.Length);
    }

    /// <summary>Takes up to <see cref="MaxPerSend"/> bytes a send until <see cref="AcceptBeforeBlocking"/> bytes are
    /// taken; later sends wait until <see cref="Unblock"/> (or fail at <see cref="Fail"/>), as a full socket's would.</summary>
    private sealed class ScriptedTransport : IClientTransport
    {
        private readonly object _lock = new();
        private readonly StringBuilder _received = new();
        private TaskCompletionSource? _blocked;
        private Exception? _failure;

        public int MaxPerSend { get; init; } = int.MaxValue;

        public long AcceptBeforeBlocking { get; set; } = long.MaxValue;

        public string Received
        {
            get
            {
                lock (_lock) return _received.ToString();
            }
        }

        public Socket Socket => throw new NotSupportedException();

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => new(0);

        public ValueTask<int> SendAsync(ReadOnlyMemory<byte> data)
        {
            lock (_lock)
            {
                if (_failure is not null) return ValueTask.FromException<int>(_failure);
                if (_received.Length < AcceptBeforeBlocking) return new ValueTask<int>(Take(data));
                _blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return WaitThenSendAsync(_blocked.Task, data);
            }
        }

        private async ValueTask<int> WaitThenSendAsync(Task blocked, ReadOnlyMemory<byte> data)
        {
            await blocked;
            lock (_lock)
            {
                if (_failure is not null) throw _failure;
                return Take(data);
            }
        }

        private int Take(ReadOnlyMemory<byte> data)
        {
            var n = (int)Math.Min(Math.Min(data.Length, MaxPerSend), Math.Max(1, AcceptBeforeBlocking - _received.Length));
            _received.Append(Encoding.ASCII.GetString(data.Span[..n]));
            return n;
        }

        public void Unblock()
        {
            lock (_lock) AcceptBeforeBlocking = long.MaxValue;
            _blocked?.TrySetResult();
        }

        public void Fail(Exception e)
        {
            lock (_lock) _failure = e;
            _blocked?.TrySetResult();
        }

        public void Abort() => Fail(new IOException("aborted"));

        public void Close()
        {
        }
    }
}
