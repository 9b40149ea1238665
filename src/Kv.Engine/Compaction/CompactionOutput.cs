using Kv.Engine.IO;
using Kv.Engine.Manifest;
using Kv.Engine.Sstable;

namespace Kv.Engine.Compaction;

/// <summary>
/// Writes the entries a <see cref="CompactionIterator"/> keeps into new tables, cutting a new table once the
/// current one reaches the target size (never inside a user key: the iterator yields one entry per key). Every
/// table is synced before it is reported, and the directory once at the end; the tables become live only when the
/// caller's manifest edit says so, and a crash before that leaves orphans that open-time cleanup deletes.
/// </summary>
/// <remarks>Not thread-safe: one compaction thread.</remarks>
public sealed class CompactionOutput
{
    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly TableOptions _tableOptions;
    private readonly Func<ulong> _newFileNumber;
    private readonly RateLimiter? _rateLimiter;
    private readonly Action? _pause;
    private const int PauseEvery = 64; // entries between two calls of _pause

    /// <param name="pause">called every few dozen entries (the database nudges a late WAL sync there: <see cref="SyncNudge"/>).</param>
    public CompactionOutput(IFileSystem fs, string directory, TableOptions tableOptions, Func<ulong> newFileNumber, RateLimiter? rateLimiter,
                            Action? pause = null)
    {
        _pause = pause;
        _fs = fs;
        _directory = directory;
        _tableOptions = tableOptions;
        _newFileNumber = newFileNumber;
        _rateLimiter = rateLimiter;
    }

    /// <summary>Writes every entry of <paramref name="entries"/>; returns the new tables in key order.
    /// On failure deletes what it wrote and rethrows.</summary>
    /// <param name="targetFileSize">cut tables at this size; long.MaxValue for a single table.</param>
    public List<FileMetadata> Write(CompactionIterator entries, long targetFileSize, CancellationToken cancellationToken = default)
    {
        var outputs = new List<FileMetadata>();
        IWritableFile? file = null;
        TableBuilder? builder = null;
        ulong number = 0;
        long charged = 0;
        var sincePause = 0;
        try
        {
            while (entries.MoveNext())
            {
                if (_pause is not null && ++sincePause >= PauseEvery)
                {
                    sincePause = 0;
                    _pause();
                }
                if (builder is null)
                {
                    number = _newFileNumber();
                    file = _fs.CreateWritable(FileNames.TableFile(_directory, number));
                    builder = new TableBuilder(file, _tableOptions);
                    charged = 0;
                }
                builder.Add(entries.Key, entries.Value);
                var estimated = builder.EstimatedFileSize;
                if (_rateLimiter is not null && estimated - charged >= 64 * 1024)
                {
                    _rateLimiter.Acquire(estimated - charged, cancellationToken);
                    charged = estimated;
                }
                if (estimated >= targetFileSize)
                {
                    outputs.Add(Finish(builder, file!, number, ref charged));
                    builder = null;
                    file = null;
                }
            }
            if (builder is not null) outputs.Add(Finish(builder, file!, number, ref charged));
            builder = null;
            file = null;
            if (outputs.Count > 0) _fs.SyncDirectory(_directory);
            return outputs;
        }
        catch
        {
            builder?.Dispose();
            file?.Dispose();
            if (file is not null) TryDelete(number);
            foreach (var o in outputs) TryDelete(o.Number);
            throw;
        }
    }

    private FileMetadata Finish(TableBuilder builder, IWritableFile file, ulong number, ref long charged)
    {
        var properties = builder.Finish();
        builder.Dispose();
        file.Sync();
        var size = file.Length;
        file.Dispose();
        if (_rateLimiter is not null && size > charged) _rateLimiter.Acquire(size - charged);
        charged = 0;
        return new FileMetadata(number, size, properties.SmallestKey, properties.LargestKey, properties.MinTimestamp, properties.MaxTimestamp);
    }

    private void TryDelete(ulong number)
    {
        try
        {
            _fs.DeleteFile(FileNames.TableFile(_directory, number));
        }
        catch (IOException)
        {
            // left as an orphan: the next open deletes tables the manifest does not list
        }
    }
}
