using System.Text;
using Kv.Gossip.Transport;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// <see cref="IKnownPeers"/> in a small text file of the data directory, replaced atomically (write temp, fsync,
/// rename), so a crash leaves the old list or the new one.
/// </summary>
/// <remarks>
/// <code>
/// peers file := (address "\n")*        address := host ":" port   (UTF-8, one ring member per line, any order)
/// </code>
/// A line that does not parse is skipped: the worst a damaged file does is make a restarted node wait for fewer
/// members. See docs/formats/peers.md.
/// Threading: called under the placement's lock; not otherwise thread-safe.
/// </remarks>
public sealed class FileKnownPeers(string directory) : IKnownPeers
{
    public const string FileName = "peers";

    private string PathOf => Path.Combine(directory, FileName);

    public IReadOnlyCollection<NodeAddress> Load()
    {
        if (!File.Exists(PathOf)) return [];
        var peers = new List<NodeAddress>();
        foreach (var line in File.ReadAllLines(PathOf, Encoding.UTF8))
            if (NodeAddress.TryParse(line.Trim(), out var address)) peers.Add(address);
        return peers;
    }

    public void Save(IReadOnlyCollection<NodeAddress> peers)
    {
        var text = new StringBuilder();
        foreach (var peer in peers) text.Append(peer.ToString()).Append('\n');
        var temp = PathOf + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Encoding.UTF8.GetBytes(text.ToString()));
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, PathOf, overwrite: true);
    }
}
