using System.Text;
using Kv.Engine.IO;
using Kv.Engine.Wal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kv.Engine.Manifest;

/// <summary>
/// The durable record of which files are live: the current <see cref="Version"/>, the log number and the file
/// number counter, kept in a manifest (a log of <see cref="VersionEdit"/> records in <see cref="LogFormat"/>)
/// named by CURRENT.
/// </summary>
/// <remarks>
/// Durability protocol (docs/formats/manifest.md): every edit is appended to the manifest and synced before it is
/// applied in memory. A new manifest is started at every open (and when the current one passes
/// <see cref="MaxManifestBytes"/>): it is written with one snapshot edit of the whole state, synced, its directory
/// entry synced; then CURRENT is replaced atomically (written to a temp file, synced, renamed over CURRENT, the
/// directory synced), and only then is the old manifest deleted. A crash at any point leaves CURRENT naming a
/// complete manifest: the old state or the new one, never a mix.
/// <para>Threading: <see cref="LogAndApply"/> calls are serialized by <c>_applyLock</c> (held during the manifest
/// write and sync). <see cref="Current"/>, <see cref="LogNumber"/> are published with volatile writes and may be
/// read from any thread; <see cref="NewFileNumber"/> and <see cref="MarkFileNumberUsed"/> are lock-free and may be
/// called from any thread. A failed manifest write makes the set unusable (the manifest may end in a partial
/// record that must stay its tail): reopen the database.</para>
/// </remarks>
public sealed class VersionSet : IDisposable
{
    /// <summary>Size past which <see cref="LogAndApply"/> starts a new manifest with a snapshot.</summary>
    public const long MaxManifestBytes = 4 * 1024 * 1024;

    private readonly IFileSystem _fs;
    private readonly string _directory;
    private readonly ILogger _logger;
    private readonly object _applyLock = new();
    private readonly byte[]?[] _compactPointers = new byte[Version.NumLevels][];
    private IWritableFile? _manifest;
    private ulong _manifestNumber;
    private ulong _nextFileNumber = 1;
    private ulong _logNumber;
    private long _snapshotBytes;
    private Version _current = Version.Empty;
    private Exception? _failure;
    private bool _disposed;

    private VersionSet(IFileSystem fs, string directory, ILoggerFactory? loggerFactory)
    {
        _fs = fs;
        _directory = directory;
        _logger = (ILogger?)loggerFactory?.CreateLogger<VersionSet>() ?? NullLogger.Instance;
    }

    public Version Current => Volatile.Read(ref _current);

    /// <summary>Logs numbered below this hold nothing that is not in a live table.</summary>
    public ulong LogNumber => Volatile.Read(ref _logNumber);

    /// <summary>Number of the manifest being appended to.</summary>
    public ulong ManifestNumber
    {
        get { lock (_applyLock) return _manifestNumber; }
    }

    /// <summary>The number <see cref="NewFileNumber"/> will hand out next.</summary>
    public ulong NextFileNumber => Interlocked.Read(ref _nextFileNumber);

    /// <summary>Where the next compaction of <paramref name="level"/> starts (null: at the beginning).</summary>
    public byte[]? CompactPointer(int level)
    {
        lock (_applyLock) return _compactPointers[level];
    }

    /// <summary>Starts a new database in <paramref name="directory"/> (creating it): an empty version in a new
    /// manifest, and CURRENT naming it.</summary>
    /// <exception cref="IOException">the directory already holds tables or logs but no CURRENT: it is a damaged
    /// database, not an empty one.</exception>
    public static VersionSet Create(IFileSystem fs, string directory, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(fs);
        fs.CreateDirectory(directory);
        if (FileNames.CurrentExists(fs, directory))
            throw new IOException($"'{directory}' already holds a database (it has a CURRENT file): open it with Recover instead of creating it");
        var leftovers = new List<string>();
        foreach (var name in fs.ListFiles(directory))
        {
            if (!FileNames.TryParse(name, out var type, out _)) continue;
            if (type is FileType.Table or FileType.Log)
            {
                throw new IOException(
                    $"'{directory}' holds database files ({name}) but no CURRENT file, so which of them are live is unknown: " +
                    "restore CURRENT from a backup (it holds the name of the newest MANIFEST-NNNNNN file and a newline), or use an empty directory");
            }
            if (type is FileType.Manifest or FileType.Temp) leftovers.Add(name); // from a creation that crashed before CURRENT
        }
        var set = new VersionSet(fs, directory, loggerFactory);
        try
        {
            set.StartNewManifest();
            foreach (var name in leftovers)
            {
                if (name != FileNames.ManifestName(set._manifestNumber)) set.DeleteQuietly(name);
            }
            set._logger.LogInformation("created a new database in {Directory} (manifest {Manifest})", directory, FileNames.ManifestName(set._manifestNumber));
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    /// <summary>Loads the state from the manifest named by CURRENT, then starts a new manifest with a snapshot of it
    /// and deletes the old manifests.</summary>
    /// <exception cref="FileNotFoundException">there is no CURRENT file.</exception>
    /// <exception cref="CorruptionException">CURRENT or the manifest is damaged or missing (names file and offset).</exception>
    public static VersionSet Recover(IFileSystem fs, string directory, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(fs);
        var set = new VersionSet(fs, directory, loggerFactory);
        try
        {
            var manifestPath = set.ReadCurrent();
            set.Replay(manifestPath);
            var old = set._manifestNumber;
            set.StartNewManifest();
            set.DeleteObsoleteManifests();
            set._logger.LogInformation("recovered {Directory} from {OldManifest}: {Files} live tables, log number {LogNumber}; now writing {Manifest}",
                                       directory, FileNames.ManifestName(old), set._current.TotalFileCount, set._logNumber,
                                       FileNames.ManifestName(set._manifestNumber));
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    /// <summary>Hands out a file number that no file of this database uses.</summary>
    public ulong NewFileNumber() => Interlocked.Increment(ref _nextFileNumber) - 1;

    /// <summary>Makes sure <see cref="NewFileNumber"/> never returns <paramref name="number"/> or anything below it
    /// (for files found on disk that the manifest does not know yet, e.g. logs).</summary>
    public void MarkFileNumberUsed(ulong number)
    {
        var current = Interlocked.Read(ref _nextFileNumber);
        while (current <= number)
        {
            var seen = Interlocked.CompareExchange(ref _nextFileNumber, number + 1, current);
            if (seen == current) return;
            current = seen;
        }
    }

    /// <summary>
    /// Makes <paramref name="edit"/> durable in the manifest, then publishes the version it produces. Records the
    /// current next file number in the edit (so it is durable too). Invalid edits (deleting a table that is not
    /// live, adding one that is, overlapping tables in levels 1+, a log number going backwards) throw
    /// <see cref="InvalidOperationException"/> and change nothing.
    /// </summary>
    /// <exception cref="IOException">the manifest write or sync failed; the set accepts no more edits.</exception>
    public void LogAndApply(VersionEdit edit)
    {
        ArgumentNullException.ThrowIfNull(edit);
        lock (_applyLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_failure is not null) throw new IOException(_failure.Message, _failure);
            if (edit.LogNumber is { } log)
            {
                if (log < _logNumber)
                    throw new InvalidOperationException($"the edit moves the log number back from {_logNumber} to {log}");
                MarkFileNumberUsed(log);
            }
            foreach (var (_, file) in edit.NewFiles) MarkFileNumberUsed(file.Number);
            var builder = new VersionBuilder(_current);
            var next = Version.Empty;
            var error = builder.TryApply(edit);
            error ??= builder.TryBuild(out next);
            if (error is not null) throw new InvalidOperationException("invalid version edit: " + error);
            edit.SetNextFileNumber(NextFileNumber);

            try
            {
                // roll over once the edits outweigh the snapshot (a large snapshot alone must not force a roll-over per edit)
                if (_manifest!.Length >= MaxManifestBytes && _manifest.Length >= 2 * _snapshotBytes)
                {
                    RollOver(edit, next);
                    return;
                }
                var record = edit.Encode();
                var framed = new byte[LogFormat.EncodedLength(_manifest.Length, record.Length)];
                LogFormat.Encode(_manifest.Length, record, framed);
                _manifest.Append(framed);
                _manifest.Sync();
            }
            catch (Exception e) // a partial record may now end the manifest: no edit may follow it
            {
                _failure = new IOException(
                    $"writing the manifest {FileNames.ManifestName(_manifestNumber)} in '{_directory}' failed ({e.Message}); " +
                    "no more changes can be recorded: close the database and reopen it", e);
                _logger.LogError(e, "manifest write failed in {Directory}", _directory);
                throw _failure;
            }
            Publish(edit, next);
        }
    }

    /// <summary>
    /// Scrub: re-reads the manifest being appended to and verifies the checksum of every record and that each one
    /// decodes as an edit, and that CURRENT names it. Adds one <see cref="CorruptionException"/> per problem to
    /// <paramref name="errors"/>; a damaged tail counts (a live manifest has none: every record was synced whole).
    /// Holds the apply lock while it reads (a few MiB at most), so no edit is appended meanwhile.
    /// Returns the manifest's path and size.
    /// </summary>
    public (string Path, long Bytes) Scrub(List<CorruptionException> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        lock (_applyLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var path = FileNames.ManifestFile(_directory, _manifestNumber);
            var currentPath = FileNames.CurrentFile(_directory);
            try
            {
                using var current = _fs.OpenRandomAccess(currentPath);
                var bytes = new byte[Math.Min(current.Length, 256)];
                var n = current.Read(0, bytes);
                var expected = FileNames.ManifestName(_manifestNumber) + "\n";
                if (Encoding.UTF8.GetString(bytes, 0, n) != expected || current.Length > 256)
                    errors.Add(new CorruptionException(currentPath, 0, $"CURRENT does not hold \"{FileNames.ManifestName(_manifestNumber)}\\n\", the manifest in use"));
            }
            catch (IOException e) when (e is not CorruptionException)
            {
                errors.Add(new CorruptionException(currentPath, 0, "CURRENT cannot be read: " + e.Message));
            }

            long length = 0;
            try
            {
                using var file = _fs.OpenRandomAccess(path);
                length = file.Length;
                using var reader = new LogReader(file, _logger);
                while (reader.TryReadRecord(out var payload, out var offset)) VersionEdit.Decode(payload, path, offset);
                if (reader.DroppedBytes > 0)
                    errors.Add(new CorruptionException(path, reader.ValidLength, $"the last {reader.DroppedBytes} bytes of the manifest in use do not form a valid record"));
            }
            catch (CorruptionException e)
            {
                errors.Add(e);
            }
            return (path, length);
        }
    }

    /// <summary>Numbers of every table of the current version.</summary>
    public HashSet<ulong> LiveFileNumbers()
    {
        var live = new HashSet<ulong>();
        var current = Current;
        for (var level = 0; level < Version.NumLevels; level++)
        {
            foreach (var f in current.Files(level)) live.Add(f.Number);
        }
        return live;
    }

    public void Dispose()
    {
        lock (_applyLock)
        {
            if (_disposed) return;
            _disposed = true;
            _manifest?.Dispose();
            _manifest = null;
        }
    }

    /// <summary>Records <paramref name="edit"/> by starting a new manifest whose snapshot includes it.</summary>
    private void RollOver(VersionEdit edit, Version next)
    {
        var (oldVersion, oldLog, oldPointers) = (_current, _logNumber, ((byte[]?[])_compactPointers.Clone()));
        Publish(edit, next); // StartNewManifest snapshots the published state
        try
        {
            StartNewManifest();
        }
        catch
        {
            Volatile.Write(ref _current, oldVersion);
            Volatile.Write(ref _logNumber, oldLog);
            oldPointers.CopyTo(_compactPointers, 0);
            throw;
        }
        DeleteObsoleteManifests();
    }

    private void Publish(VersionEdit edit, Version next)
    {
        if (edit.LogNumber is { } log) Volatile.Write(ref _logNumber, log);
        foreach (var (level, key) in edit.CompactPointers) _compactPointers[level] = key;
        Volatile.Write(ref _current, next);
    }

    /// <summary>Reads CURRENT and returns the path of the manifest it names.</summary>
    private string ReadCurrent()
    {
        var currentPath = FileNames.CurrentFile(_directory);
        if (!_fs.FileExists(currentPath))
        {
            throw new FileNotFoundException(
                $"'{_directory}' has no CURRENT file: it is not a database directory, or CURRENT was lost " +
                "(restore it from a backup: it holds the name of the newest MANIFEST-NNNNNN file and a newline)", currentPath);
        }
        string text;
        using (var file = _fs.OpenRandomAccess(currentPath))
        {
            if (file.Length > 256) throw new CorruptionException(currentPath, 0, $"CURRENT is {file.Length} bytes long; it should hold one manifest file name");
            var bytes = new byte[file.Length];
            var n = file.Read(0, bytes);
            text = Encoding.UTF8.GetString(bytes, 0, n);
        }
        var name = text.EndsWith('\n') ? text[..^1] : null;
        if (name is null || !FileNames.TryParse(name, out var type, out var number) || type != FileType.Manifest)
        {
            throw new CorruptionException(currentPath, 0,
                $"CURRENT should hold a manifest file name and a newline, but holds \"{text.ReplaceLineEndings("\\n")}\"; " +
                "restore it from a backup, or write the name of the newest MANIFEST-NNNNNN file into it");
        }
        var manifestPath = Path.Combine(_directory, name);
        if (!_fs.FileExists(manifestPath))
        {
            throw new CorruptionException(manifestPath, 0,
                $"CURRENT names the manifest {name}, but it does not exist; restore it from a backup");
        }
        _manifestNumber = number;
        MarkFileNumberUsed(number);
        return manifestPath;
    }

    private void Replay(string manifestPath)
    {
        var builder = new VersionBuilder(Version.Empty);
        ulong? logNumber = null;
        ulong? nextFile = null;
        var records = 0;
        using (var file = _fs.OpenRandomAccess(manifestPath))
        using (var reader = new LogReader(file, _logger))
        {
            while (reader.TryReadRecord(out var payload, out var offset))
            {
                var edit = VersionEdit.Decode(payload, manifestPath, offset);
                if (builder.TryApply(edit) is { } error) throw new CorruptionException(manifestPath, offset, "manifest record: " + error);
                if (edit.LogNumber is { } log) logNumber = log;
                if (edit.NextFileNumber is { } next) nextFile = next;
                foreach (var (level, key) in edit.CompactPointers) _compactPointers[level] = key;
                records++;
            }
            if (records == 0)
                throw new CorruptionException(manifestPath, 0, "the manifest holds no complete record; restore it from a backup");
            if (logNumber is null || nextFile is null)
            {
                throw new CorruptionException(manifestPath, reader.ValidLength,
                    $"the manifest has no {(logNumber is null ? "log number" : "next file number")} record; it is incomplete");
            }
        }
        if (builder.TryBuild(out var version) is { } overlap) throw new CorruptionException(manifestPath, 0, "manifest: " + overlap);
        _current = version;
        _logNumber = logNumber.Value;
        MarkFileNumberUsed(nextFile.Value - 1);
        MarkFileNumberUsed(logNumber.Value);
        for (var level = 0; level < Version.NumLevels; level++)
        {
            foreach (var f in version.Files(level)) MarkFileNumberUsed(f.Number);
        }
    }

    /// <summary>Writes a new manifest holding a snapshot of the current state and points CURRENT at it. On success
    /// the old manifest (still open) is closed; deleting it is the caller's job.</summary>
    private void StartNewManifest()
    {
        var number = NewFileNumber();
        var path = FileNames.ManifestFile(_directory, number);
        var snapshot = new VersionEdit();
        snapshot.SetLogNumber(_logNumber);
        for (var level = 0; level < Version.NumLevels; level++)
        {
            if (_compactPointers[level] is { } pointer) snapshot.SetCompactPointer(level, pointer);
            foreach (var f in _current.Files(level)) snapshot.AddFile(level, f);
        }
        snapshot.SetNextFileNumber(NextFileNumber);

        var manifest = _fs.CreateWritable(path);
        try
        {
            var record = snapshot.Encode();
            var framed = new byte[LogFormat.EncodedLength(0, record.Length)];
            LogFormat.Encode(0, record, framed);
            manifest.Append(framed);
            manifest.Sync();
            _fs.SyncDirectory(_directory);
            SetCurrent(number);
        }
        catch
        {
            manifest.Dispose();
            DeleteQuietly(FileNames.ManifestName(number));
            throw;
        }
        _manifest?.Dispose();
        _manifest = manifest;
        _manifestNumber = number;
        _snapshotBytes = manifest.Length;
    }

    /// <summary>Atomically points CURRENT at manifest <paramref name="manifestNumber"/>.</summary>
    private void SetCurrent(ulong manifestNumber) => WriteCurrent(_fs, _directory, manifestNumber);

    private static void WriteCurrent(IFileSystem fs, string directory, ulong manifestNumber)
    {
        var temp = FileNames.TempFile(directory, manifestNumber);
        using (var file = fs.CreateWritable(temp))
        {
            file.Append(Encoding.UTF8.GetBytes(FileNames.ManifestName(manifestNumber) + "\n"));
            file.Sync();
        }
        fs.Rename(temp, FileNames.CurrentFile(directory));
        fs.SyncDirectory(directory);
    }

    /// <summary>
    /// Writes the manifest of a checkpoint in <paramref name="directory"/> (whose tables are already there): one
    /// snapshot record listing exactly <paramref name="files"/>, log number and manifest number
    /// <paramref name="nextFileNumber"/> (so no log is replayed), then CURRENT; every step synced. CURRENT comes
    /// last: a checkpoint cut short by a crash has none and refuses to open.
    /// </summary>
    /// <exception cref="InvalidOperationException">the files do not form a valid version (overlap in levels 1+).</exception>
    internal static void WriteCheckpointManifest(IFileSystem fs, string directory, IReadOnlyList<(int Level, FileMetadata File)> files,
                                                 ulong nextFileNumber)
    {
        var snapshot = new VersionEdit();
        foreach (var (level, file) in files) snapshot.AddFile(level, file);
        var builder = new VersionBuilder(Version.Empty);
        var error = builder.TryApply(snapshot) ?? builder.TryBuild(out _);
        if (error is not null) throw new InvalidOperationException("the checkpoint's tables do not form a valid version: " + error);
        var manifestNumber = nextFileNumber;
        snapshot.SetLogNumber(manifestNumber);
        snapshot.SetNextFileNumber(manifestNumber + 1);

        var record = snapshot.Encode();
        var framed = new byte[LogFormat.EncodedLength(0, record.Length)];
        LogFormat.Encode(0, record, framed);
        using (var manifest = fs.CreateWritable(FileNames.ManifestFile(directory, manifestNumber)))
        {
            manifest.Append(framed);
            manifest.Sync();
        }
        fs.SyncDirectory(directory);
        WriteCurrent(fs, directory, manifestNumber);
    }

    private void DeleteObsoleteManifests()
    {
        foreach (var name in _fs.ListFiles(_directory))
        {
            if (FileNames.TryParse(name, out var type, out var number) && type == FileType.Manifest && number != _manifestNumber)
                DeleteQuietly(name);
        }
    }

    private void DeleteQuietly(string name)
    {
        try
        {
            _fs.DeleteFile(Path.Combine(_directory, name));
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "could not delete obsolete file {Name} in {Directory}", name, _directory);
        }
    }
}
