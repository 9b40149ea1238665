using Kv.Engine.Cache;
using Kv.Engine.Manifest;
using Kv.Engine.Memtable;
using Kv.Engine.Sstable;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;

namespace Kv.Engine;

// Open (create or recover) and close.
public sealed partial class Database
{
    /// <summary>
    /// Recovery: load the manifest (the set of live tables and the log number), replay every WAL numbered at or
    /// above the log number into a memtable, write that memtable as an L0 table (so the old logs can go), start a
    /// fresh WAL, and delete every file the manifest does not reference (orphans of a crash).
    /// </summary>
    private static Database Recover(string directory, EngineOptions options, ILogger logger, DirectoryLock directoryLock)
    {
        var fs = options.FileSystem;
        VersionSet versions;
        if (FileNames.CurrentExists(fs, directory))
        {
            versions = VersionSet.Recover(fs, directory, options.LoggerFactory);
        }
        else
        {
            // No CURRENT: a new database, unless data files say otherwise (creating afresh would delete them as orphans).
            foreach (var name in fs.ListFiles(directory))
            {
                if (FileNames.TryParse(name, out var type, out _) && type is FileType.Table or FileType.Log)
                    throw new CorruptionException(FileNames.CurrentFile(directory), 0,
                        $"CURRENT is missing but the directory holds data files ({name}); restore CURRENT (it names the MANIFEST file) or the directory from a backup");
            }
            versions = VersionSet.Create(fs, directory, options.LoggerFactory);
        }
        try
        {
            var blockCache = options.BlockCacheBytes > 0 ? new BlockCache(options.BlockCacheBytes) : null;
            var tableCache = options.MaxOpenTables > 0 ? new TableCache(fs, directory, options.MaxOpenTables, blockCache) : null;
            var tableOptions = new TableOptions
            {
                BlockSize = options.BlockSize,
                BloomBitsPerKey = options.BloomBitsPerKey,
                Compression = options.Compression,
                TimeProvider = options.TimeProvider,
            };

            // The first generation's WAL gets a number above every recovered log.
            var logsToReplay = new List<ulong>();
            foreach (var name in fs.ListFiles(directory))
            {
                if (!FileNames.TryParse(name, out var type, out var number)) continue;
                // Orphans of a crash may carry numbers the manifest never recorded: never hand those out again.
                versions.MarkFileNumberUsed(number);
                if (type == FileType.Log && number >= versions.LogNumber) logsToReplay.Add(number);
            }
            logsToReplay.Sort();

            var firstNumber = versions.NewFileNumber();
            var walStatistics = new WalStatistics();
            var memtablePool = NewMemtablePool(options);
            var db = new Database(directory, options, logger, directoryLock, versions, blockCache, tableCache, tableOptions, walStatistics, memtablePool,
                                  new MemtableGeneration(NewMemtable(options, memtablePool), OpenWal(fs, directory, options, logger, walStatistics, firstNumber), firstNumber));
            try
            {
                db.OpenLiveTables();
                db.ReplayLogs(logsToReplay);
                db.DeleteOrphans();
                db._flushThread.Start();
                db.StartCompaction();
                return db;
            }
            catch
            {
                db.CloseAfterFailedOpen();
                throw;
            }
        }
        catch
        {
            versions.Dispose();
            throw;
        }
    }

    private void OpenLiveTables()
    {
        lock (_rotateLock)
        {
            var current = _versions.Current;
            for (var level = 0; level < current.LevelCount; level++)
            {
                foreach (var file in current.Files(level))
                {
                    if (!_fs.FileExists(FileNames.TableFile(_directory, file.Number)))
                        throw new CorruptionException(FileNames.TableFile(_directory, file.Number), 0,
                            "the manifest lists this table but the file is missing; restore it from a backup or a replica");
                    _tables.Add(file.Number, OpenTable(file.Number, level));
                }
            }
            PublishViewLocked();
        }
    }

    /// <summary>Replays the unflushed logs, oldest first, into one memtable and flushes it to L0 synchronously.</summary>
    private void ReplayLogs(List<ulong> logs)
    {
        if (logs.Count == 0)
        {
            // Still record the new log number so that the next recovery does not look at older logs.
            var edit = new VersionEdit();
            edit.SetLogNumber(_active.LogNumber);
            _versions.LogAndApply(edit);
            return;
        }
        var memtable = NewMemtable();
        long sequence = 0;
        foreach (var number in logs)
        {
            var path = FileNames.LogFile(_directory, number);
            var records = 0;
            WalReader.Replay(_fs, path, (payload, offset) =>
            {
                ApplyBatch(memtable, payload, ++sequence, path, offset);
                records++;
            }, _logger);
            _logger.LogInformation("replayed {Records} records from WAL {Path}", records, path);
        }
        var replayEdit = new VersionEdit();
        replayEdit.SetLogNumber(_active.LogNumber);
        (FileMetadata Metadata, TableHandle Handle)? table = memtable.EntryCount > 0 ? WriteLevel0Table(memtable) : null;
        if (table is not null) replayEdit.AddFile(0, table.Value.Metadata);
        _versions.LogAndApply(replayEdit);
        lock (_rotateLock)
        {
            if (table is not null) _tables.Add(table.Value.Handle.FileNumber, table.Value.Handle);
            PublishViewLocked();
        }
        memtable.Release(); // no view ever showed it: its memory goes to the first memtables of this run
        DeleteObsoleteLogs(_active.LogNumber);
    }

    /// <summary>Deletes files that no live version references: tables and logs left by a crash mid-flush.</summary>
    private void DeleteOrphans()
    {
        var live = _versions.LiveFileNumbers();
        foreach (var name in _fs.ListFiles(_directory))
        {
            if (!FileNames.TryParse(name, out var type, out var number)) continue;
            var orphan = type switch
            {
                FileType.Table => !live.Contains(number),
                FileType.Log => number < _active.LogNumber,
                FileType.Temp => true,
                _ => false,
            };
            if (!orphan) continue;
            _logger.LogInformation("deleting orphan file {Name}", name);
            TryDelete(Path.Combine(_directory, name));
        }
    }

    private WalWriter OpenWal(ulong number) => OpenWal(_fs, _directory, _options, _logger, _walStatistics, number);

    private static WalWriter OpenWal(Kv.Engine.IO.IFileSystem fs, string directory, EngineOptions options, ILogger logger,
                                     WalStatistics statistics, ulong number) =>
        WalWriter.Create(fs, FileNames.LogFile(directory, number), new WalOptions
        {
            SyncMode = options.SyncMode,
            PeriodicSyncInterval = options.PeriodicSyncInterval,
            UseDirectIO = options.UseDirectIO,
            PreallocateBytes = Math.Min(options.WalPreallocateBytes, options.MemtableSizeBytes),
            TimeProvider = options.TimeProvider,
            Logger = logger,
            Statistics = statistics,
        });

    /// <summary>Clean close: stops the flush thread (letting a running flush finish), syncs the WAL, closes every
    /// file and releases the LOCK. Unflushed memtable contents stay in the WAL and are replayed at the next open.</summary>
    public void Dispose()
    {
        lock (_rotateLock)
        {
            if (_disposed || _closing) return;
            _closing = true;
            Monitor.PulseAll(_rotateLock);
        }
        _flushSignal.Release();
        _flushThread.Join();
        StopCompaction();
        var active = _active;
        active.Seal();
        active.WaitForWriters();
        try
        {
            active.Wal.Dispose();
        }
        finally
        {
            lock (_rotateLock)
            {
                _disposed = true;
                _view.Release();
                foreach (var t in _tables.Values) t.Release();
                _tables.Clear();
            }
            try
            {
                _versions.Dispose();
            }
            finally
            {
                _tableCache?.Dispose();
                _flushSignal.Dispose();
                _compactionSignal.Dispose();
                _lock.Dispose();
            }
        }
    }

    private void CloseAfterFailedOpen()
    {
        _disposed = true;
        try { _active.Wal.Dispose(); } catch (IOException) { }
        try { TryDelete(FileNames.LogFile(_directory, _active.LogNumber)); } catch (IOException) { }
        _view.Release();
        foreach (var t in _tables.Values) t.Release();
        _tables.Clear();
        _tableCache?.Dispose();
    }
}
