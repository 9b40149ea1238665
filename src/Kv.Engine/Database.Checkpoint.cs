using System.Buffers;
using Kv.Engine.Manifest;
using Microsoft.Extensions.Logging;

namespace Kv.Engine;

// Checkpoints: a point-in-time copy of the store in another directory, made of hard links (docs/engine.md).
// Threading: any thread, concurrently with writes, flushes, compactions and other checkpoints. Writers are held up
// only by the memtable switch of the flush; the copy itself runs on a pinned read view, so no compaction can delete
// a table while it is being linked.
public sealed partial class Database
{
    /// <summary>
    /// Writes a checkpoint of the store into <paramref name="directory"/>: a complete database (tables, MANIFEST,
    /// CURRENT, no WAL) that <see cref="Open"/> reads as the store was when this call began. Every write acknowledged
    /// before the call is in it; writes that begin after it returns are not; writes racing with it may or may not be.
    /// Tables are hard-linked (no bytes copied, the checkpoint costs only directory entries while both stores keep the
    /// tables); where the file system cannot link (another device, no permission) they are copied.
    /// </summary>
    /// <param name="directory">The target: must not exist, or be an empty directory. Use a directory on the same file
    /// system as the store for links; elsewhere every table is copied.</param>
    /// <exception cref="IOException">the target holds files, is the store's own directory, or a link/copy failed
    /// (a partial checkpoint has no CURRENT and cannot be opened; delete it).</exception>
    public CheckpointResult CreateCheckpoint(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ThrowIfUnusable();
        if (string.Equals(Path.GetFullPath(directory).TrimEnd('/', '\\'), Path.GetFullPath(_directory).TrimEnd('/', '\\'), StringComparison.Ordinal))
            throw new IOException($"cannot write a checkpoint of '{_directory}' into the store's own directory; choose a new, empty directory");
        if (_fs.DirectoryExists(directory) && _fs.ListFiles(directory) is { Count: > 0 } existing)
            throw new IOException($"cannot write a checkpoint into '{directory}': it already holds {existing.Count} file(s) (e.g. {existing[0]}); choose a new or empty directory");
        _fs.CreateDirectory(directory);

        // Everything acknowledged so far goes into a table; the checkpoint then needs no WAL.
        Flush();
        var view = AcquireView(); // pins the tables: a compaction that replaces them cannot delete them until released
        try
        {
            var files = new List<(int Level, FileMetadata File)>(view.Tables.Length);
            int linked = 0, copied = 0;
            long bytes = 0;
            ulong maxNumber = 0;
            foreach (var table in view.Tables)
            {
                files.Add((table.Level, table.Metadata));
                var source = FileNames.TableFile(_directory, table.FileNumber);
                var target = FileNames.TableFile(directory, table.FileNumber);
                if (LinkOrCopy(source, target)) linked++;
                else copied++;
                bytes += table.FileSize;
                maxNumber = Math.Max(maxNumber, table.FileNumber);
            }
            // the manifest write syncs the directory, which makes the links durable before CURRENT names them
            VersionSet.WriteCheckpointManifest(_fs, directory, files, maxNumber + 1);
            _logger.LogInformation("checkpoint of {Directory} written to {Target}: {Tables} tables, {Bytes} bytes ({Linked} linked, {Copied} copied)",
                                   _directory, directory, files.Count, bytes, linked, copied);
            return new CheckpointResult(directory, files.Count, bytes, linked, copied);
        }
        finally
        {
            view.Release();
        }
    }

    /// <summary>Hard-links <paramref name="source"/> as <paramref name="target"/>; copies it (synced) where the file
    /// system cannot link. True if linked.</summary>
    private bool LinkOrCopy(string source, string target)
    {
        try
        {
            _fs.HardLink(source, target);
            return true;
        }
        catch (NotSupportedException e)
        {
            _logger.LogDebug("cannot hard-link {Source} ({Reason}); copying it", source, e.Message);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var input = _fs.OpenRandomAccess(source);
            using var output = _fs.CreateWritable(target);
            long offset = 0;
            while (offset < input.Length)
            {
                var n = input.Read(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, input.Length - offset)));
                if (n == 0) throw new IOException($"'{source}' ended at {offset} bytes while being copied; it should hold {input.Length}");
                output.Append(buffer.AsSpan(0, n));
                offset += n;
            }
            output.Sync();
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
