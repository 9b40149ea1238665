using System.Buffers.Binary;
using System.Collections.Concurrent;
using Kv.Engine.Format;
using Kv.Gossip.Transport;
using Kv.Protocol.Internode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Node.Cluster.Hints;

/// <summary>
/// Durable hints on the coordinator: mutations a replica missed, kept in one append-only file per
/// target node until they are delivered. A hint is fsynced before it counts (for ANY, or before the
/// coordinator reports the write), and files survive restarts.
/// </summary>
/// <remarks>
/// <code>
/// file    := hints/&lt;host&gt;_&lt;port&gt;.hints  containing  record*
/// record  := crc32c: u32 LE (masked; over length and payload) | length: u32 LE | payload
/// payload := created-at: i64 LE (unix ms) | MutationRequest (MessagePack, see docs/formats/internode.md)
/// </code>
/// wire format: changing the record layout makes stored hints unreadable.
/// A torn or corrupt record ends the readable part of a file: the records before it are delivered, the
/// rest is dropped with a warning (anti-entropy repairs what a lost hint carried).
/// Threading: thread-safe; one lock per target file serialises appends against reads and truncation.
/// </remarks>
public sealed class HintStore
{
    private const string Extension = ".hints";
    private const int HeaderSize = 8;
    private const int MaxRecordLength = 64 * 1024 * 1024;

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<NodeAddress, Lock> _locks = new();

    public HintStore(string directory, TimeProvider? time = null, ILogger? logger = null)
    {
        _directory = directory;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Directory.CreateDirectory(directory);
    }

    public string DirectoryPath => _directory;

    /// <summary>Appends a hint for <paramref name="target"/> and makes it durable.</summary>
    public void Store(NodeAddress target, in MutationRequest mutation)
    {
        var body = MessagePack.MessagePackSerializer.Serialize(mutation, InternodeEnvelope.SerializerOptions);
        var record = new byte[HeaderSize + 8 + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), (uint)(8 + body.Length));
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(HeaderSize), _time.GetUtcNow().ToUnixTimeMilliseconds());
        body.CopyTo(record.AsSpan(HeaderSize + 8));
        BinaryPrimitives.WriteUInt32LittleEndian(record, Crc32C.Mask(Crc32C.Compute(record.AsSpan(4))));
        lock (LockOf(target))
        {
            using var file = new FileStream(PathOf(target), FileMode.Append, FileAccess.Write, FileShare.Read, 1, FileOptions.None);
            file.Write(record);
            file.Flush(flushToDisk: true);
        }
    }

    /// <summary>Targets with a hint file (possibly empty), in address order (not the file system's), so replays start in a reproducible order.</summary>
    public IReadOnlyList<NodeAddress> Targets()
    {
        var targets = new List<NodeAddress>();
        foreach (var path in Directory.EnumerateFiles(_directory, "*" + Extension))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            var underscore = name.LastIndexOf('_');
            if (underscore > 0 && NodeAddress.TryParse(name[..underscore] + ":" + name[(underscore + 1)..], out var address)) targets.Add(address);
        }
        targets.Sort(static (a, b) =>
        {
            var byHost = string.CompareOrdinal(a.Host, b.Host);
            return byHost != 0 ? byHost : a.Port.CompareTo(b.Port);
        });
        return targets;
    }

    /// <summary>Bytes of hints waiting for <paramref name="target"/>.</summary>
    public long PendingBytes(NodeAddress target)
    {
        lock (LockOf(target))
        {
            var info = new FileInfo(PathOf(target));
            return info.Exists ? info.Length : 0;
        }
    }

    /// <summary>The readable hints for <paramref name="target"/>, oldest first, each with the file offset just past it.</summary>
    public List<StoredHint> ReadAll(NodeAddress target)
    {
        byte[] bytes;
        lock (LockOf(target))
        {
            var path = PathOf(target);
            if (!File.Exists(path)) return [];
            bytes = File.ReadAllBytes(path);
        }
        var hints = new List<StoredHint>();
        var offset = 0;
        while (offset + HeaderSize <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset + 4));
            if (length < 8 || length > MaxRecordLength || offset + HeaderSize + (long)length > bytes.Length)
            {
                _logger.LogWarning("Hint file for {Target} ends with a torn record at offset {Offset}; {Count} hints before it are kept", target, offset, hints.Count);
                break;
            }
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
            if (Crc32C.Unmask(crc) != Crc32C.Compute(bytes.AsSpan(offset + 4, 4 + (int)length)))
            {
                _logger.LogWarning("Hint file for {Target} has a checksum mismatch at offset {Offset}; the hints from there on are dropped", target, offset);
                break;
            }
            var createdAt = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset + HeaderSize));
            var body = bytes.AsMemory(offset + HeaderSize + 8, (int)length - 8);
            var mutation = InternodeEnvelope.ReadBody<MutationRequest>(body);
            offset += HeaderSize + (int)length;
            hints.Add(new StoredHint(createdAt, mutation, offset));
        }
        return hints;
    }

    /// <summary>Removes the first <paramref name="deliveredBytes"/> bytes of <paramref name="target"/>'s file (hints delivered); keeps what was appended since.</summary>
    public void RemoveDelivered(NodeAddress target, long deliveredBytes)
    {
        if (deliveredBytes <= 0) return;
        lock (LockOf(target))
        {
            var path = PathOf(target);
            if (!File.Exists(path)) return;
            var bytes = File.ReadAllBytes(path);
            if (deliveredBytes >= bytes.Length)
            {
                File.Delete(path);
                return;
            }
            var temp = path + ".tmp";
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes.AsSpan((int)deliveredBytes));
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
    }

    private Lock LockOf(NodeAddress target) => _locks.GetOrAdd(target, static _ => new Lock());

    private string PathOf(NodeAddress target) => Path.Combine(_directory, target.Host.Replace(':', '-') + "_" + target.Port + Extension);
}

/// <summary>One hint read back: when it was stored, the mutation, and the file offset just past it.</summary>
public readonly record struct StoredHint(long CreatedAtUnixMs, MutationRequest Mutation, long EndOffset);
