using System.Buffers;
using Kv.Protocol.Resp;

namespace Kv.Fuzz;

/// <summary>
/// The fuzz target for the RESP request parser: feeds the input as a buffer cut into segments (the
/// first byte chooses the segment size, so the fuzzer explores straddling requests too), parses every
/// request it can, and checks the parser's own invariants. Any exception is a bug: the parser must
/// report malformed input as <see cref="RespParseStatus.Malformed"/>, never throw.
/// Shared by the SharpFuzz harness (fuzz/Kv.Fuzz) and the corpus replay in Kv.Protocol.Tests.
/// </summary>
public static class RespParserTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        var segmentSize = 1 + (input[0] % 64);
        var data = input[1..].ToArray();
        var limits = new RespLimits { MaxBulkLength = 4096, MaxArgumentCount = 256, MaxInlineLength = 1024, MaxRequestBytes = 16 * 1024 };
        using var parser = new RespRequestParser(limits);
        var request = new RespRequest();
        var buffer = Segment(data, segmentSize);
        var guard = 0;
        while (!buffer.IsEmpty && guard++ < 100_000)
        {
            var status = parser.TryParse(buffer, request, out var consumed);
            if (status == RespParseStatus.Malformed)
            {
                if (string.IsNullOrEmpty(parser.Error)) throw new InvalidOperationException("malformed without an error message");
                return;
            }
            if (status == RespParseStatus.Incomplete) return;
            var used = buffer.Slice(0, consumed).Length;
            if (used == 0) throw new InvalidOperationException("a complete request consumed no bytes");
            for (var i = 0; i < request.Count; i++)
            {
                if (request[i].Length > limits.MaxBulkLength && !request.IsInline) throw new InvalidOperationException("argument over the bulk limit");
            }
            buffer = buffer.Slice(consumed);
        }
    }

    private static ReadOnlySequence<byte> Segment(byte[] data, int size)
    {
        if (data.Length <= size) return new ReadOnlySequence<byte>(data);
        Chunk? first = null, last = null;
        for (var offset = 0; offset < data.Length; offset += size)
        {
            var piece = data.AsMemory(offset, Math.Min(size, data.Length - offset));
            if (first is null) first = last = new Chunk(piece, 0);
            else last = last!.Append(piece);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Chunk : ReadOnlySequenceSegment<byte>
    {
        public Chunk(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Chunk Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Chunk(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
