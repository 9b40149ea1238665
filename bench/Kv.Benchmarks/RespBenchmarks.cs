using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Kv.Node.Hosting;
using Kv.Node.Resp;
using Kv.Node.Storage;
using Kv.Protocol.Resp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Benchmarks;

/// <summary>
/// Parse + dispatch of GET and SET as the server runs them (parser, command table, handler, reply
/// writer), over a keyspace that answers at once, so storage is not measured. Expect 0 B allocated.
/// <c>dotnet run -c Release --project bench/Kv.Benchmarks -- --filter '*RespBenchmarks*'</c>
/// </summary>
[MemoryDiagnoser]
public class RespBenchmarks
{
    private readonly ReadOnlySequence<byte> _get = new(Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000123456\r\n"));
    private readonly ReadOnlySequence<byte> _set = new(Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000123456\r\n$100\r\n" + new string('x', 100) + "\r\n"));
    private readonly ReadOnlySequence<byte> _pipeline16;
    private readonly RespRequestParser _parser = new();
    private readonly RespRequest _request = new();
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private readonly CommandContext _context;
    private readonly CommandDispatcher _dispatcher;

    public RespBenchmarks()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 8; i++)
        {
            text.Append("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000123456\r\n$100\r\n").Append('x', 100).Append("\r\n");
            text.Append("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000123456\r\n");
        }
        _pipeline16 = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text.ToString()));
        var server = new RespServer(new NodeOptions(), new ImmediateKeyspace(), TimeProvider.System, NullLoggerFactory.Instance);
        _dispatcher = server.Dispatcher;
        _context = new CommandContext(server, 1, null, new RespReplyWriter(_output)) { Request = _request };
    }

    [Benchmark]
    public int Get() => Run(_get);

    [Benchmark]
    public int Set() => Run(_set);

    [Benchmark(OperationsPerInvoke = 16)]
    public int Pipeline16() => Run(_pipeline16);

    private int Run(ReadOnlySequence<byte> buffer)
    {
        _output.ResetWrittenCount();
        while (!buffer.IsEmpty && _parser.TryParse(buffer, _request, out var consumed) == RespParseStatus.Complete)
        {
            var task = _dispatcher.ExecuteAsync(_context);
            if (!task.IsCompletedSuccessfully) task.AsTask().GetAwaiter().GetResult();
            buffer = buffer.Slice(consumed);
        }
        return _output.WrittenCount;
    }

    /// <summary>Answers every read with a fixed 100-byte value and every write at once.</summary>
    private sealed class ImmediateKeyspace : IKeyspace
    {
        private static readonly byte[] Value = Encoding.ASCII.GetBytes(new string('v', 100));

        public ValueTask<KeyLookup> GetAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte>? value, CancellationToken cancellationToken = default)
        {
            value?.Write(Value);
            return new(new KeyLookup(true, 0));
        }

        public ValueTask SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long expiresAtUnixMs, CancellationToken cancellationToken = default) => default;

        public ValueTask<SetResult> SetAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, SetOptions options, IBufferWriter<byte>? previousValue, CancellationToken cancellationToken = default) => new(new SetResult(true, default));

        public ValueTask SetManyAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => default;

        public ValueTask<bool> DeleteAsync(ReadOnlyMemory<byte> key, CancellationToken cancellationToken = default) => new(true);

        public ValueTask<KeyLookup> GetAndDeleteAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, CancellationToken cancellationToken = default) => GetAsync(key, value, cancellationToken);

        public ValueTask<KeyLookup> GetAndUpdateExpiryAsync(ReadOnlyMemory<byte> key, IBufferWriter<byte> value, ExpiryUpdate update, CancellationToken cancellationToken = default) => GetAsync(key, value, cancellationToken);

        public ValueTask<bool> UpdateValueAsync(ReadOnlyMemory<byte> key, ValueUpdate update, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> SetManyIfNoneExistAsync(ReadOnlyMemory<KeyValuePair<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>>> pairs, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<RenameOutcome> RenameAsync(ReadOnlyMemory<byte> source, ReadOnlyMemory<byte> destination, bool onlyIfAbsent, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public ValueTask<bool> UpdateExpiryAsync(ReadOnlyMemory<byte> key, ExpiryUpdate update, CancellationToken cancellationToken = default) => new(true);

        public ValueTask<long> ScanAsync(long cursor, int count, List<byte[]> keys, CancellationToken cancellationToken = default) => new(0L);

        public long EstimateKeyCount() => 0;

        public ValueTask<long> DeleteAllAsync(CancellationToken cancellationToken = default) => new(0L);

        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => default;

        public IReadOnlyList<KeyValuePair<string, string>> DescribeEngine() => [];
    }
}
