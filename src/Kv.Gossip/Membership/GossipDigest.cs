using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>
/// "I know <see cref="Endpoint"/> at this generation up to this version."
/// <code>digest := endpoint | generation: varint | maxVersion: varint</code>
/// In an ACK, a digest is a request: "send me what you have newer than maxVersion".
/// </summary>
public readonly record struct GossipDigest(NodeAddress Endpoint, long Generation, long MaxVersion)
{
    internal void Write(GossipWriter w)
    {
        w.WriteEndpoint(Endpoint);
        w.WriteVarint(Generation);
        w.WriteVarint(MaxVersion);
    }

    internal static GossipDigest Read(ref GossipReader r) => new(r.ReadEndpoint(), r.ReadNonNegative(), r.ReadNonNegative());
}
