using System.Buffers;

namespace Kv.Node.Cluster.Net;

/// <summary>One encoded frame waiting in a peer's queue, in an array rented from the shared pool.</summary>
internal readonly record struct OutboundFrame(byte[] Buffer, int Length)
{
    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);

    public void Return() => ArrayPool<byte>.Shared.Return(Buffer);
}
