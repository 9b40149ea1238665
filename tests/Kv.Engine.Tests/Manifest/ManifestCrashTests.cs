using Kv.Engine.IO;
using Kv.Engine.Manifest;
using static Kv.Engine.Tests.Manifest.ManifestTestData;

namespace Kv.Engine.Tests.Manifest;

/// <summary>
/// The machine crashes at every single mutating file-system operation of (a) a reopen (new manifest + CURRENT
/// swap) followed by an edit and (b) a manifest roll-over. Recovery must never fail and must give the old state or
/// the new one, never a mix.
/// </summary>
public class ManifestCrashTests
{
    [Fact]
    public void Crash_AtEveryOperationOfReopenAndEdit_RecoversOldOrNewState()
    {
        var finished = false;
        for (var crashAt = 1; !finished; crashAt++)
        {
            Assert.True(crashAt < 1000, "the change never finished");
            var inner = NewFs();
            string oldState;
            using (var set = VersionSet.Create(inner, Dir, null))
            {
                var a = new VersionEdit();
                a.AddFile(0, Table(set.NewFileNumber()));
                a.AddFile(1, Table(set.NewFileNumber()));
                a.SetLogNumber(set.NewFileNumber());
                set.LogAndApply(a);
                oldState = Snapshot(set);
            }
            var faulty = new CrashingFileSystem(inner, crashAt);
            string? newState = null;
            try
            {
                using var set = VersionSet.Recover(faulty, Dir, null);
                var b = new VersionEdit();
                b.DeleteFile(0, set.Current.Files(0)[0].Number);
                b.AddFile(2, Table(set.NewFileNumber()));
                b.SetLogNumber(set.NewFileNumber());
                set.LogAndApply(b);
                newState = Snapshot(set);
                finished = true;
            }
            catch (IOException) when (faulty.Crashed)
            {
                // the machine died during the change: the edit was never acknowledged
            }
            using var recovered = VersionSet.Recover(inner, Dir, null);
            Assert.Equal(newState ?? oldState, Snapshot(recovered));
            Assert.Single(inner.ListFiles(Dir), n => n.StartsWith("MANIFEST-", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Crash_AtEveryOperationOfARollOver_RecoversTheAcknowledgedStateOrTheAttemptedOne()
    {
        var finished = false;
        for (var crashAt = 1; !finished; crashAt++)
        {
            Assert.True(crashAt < 1000, "the change never finished");
            var inner = NewFs();
            var faulty = new CrashingFileSystem(inner, int.MaxValue);
            ulong acknowledged = 0, attempting = 0;
            using (var set = VersionSet.Create(faulty, Dir, null))
            {
                // each edit replaces the one L4 table by a new one with large keys: the manifest grows, the state does not
                void Edit()
                {
                    var e = new VersionEdit();
                    attempting = set.NewFileNumber();
                    e.AddFile(4, Table(attempting, keyPadding: 30_000));
                    if (acknowledged != 0) e.DeleteFile(4, acknowledged);
                    set.LogAndApply(e);
                    acknowledged = attempting;
                }
                while (inner.GetFileLength(FileNames.ManifestFile(Dir, set.ManifestNumber)) < VersionSet.MaxManifestBytes - 100_000) Edit();
                faulty.Arm(crashAt);
                var first = set.ManifestNumber;
                try
                {
                    while (set.ManifestNumber == first) Edit();
                    finished = true;
                }
                catch (IOException) when (faulty.Crashed)
                {
                    // the machine died during the edit that was rolling the manifest over
                }
            }
            using var recovered = VersionSet.Recover(inner, Dir, null);
            var l4 = Assert.Single(recovered.Current.Files(4)).Number;
            Assert.True(l4 == acknowledged || l4 == attempting, $"crash at {crashAt}: recovered table {l4}, acknowledged {acknowledged}");
            Assert.Equal(1, recovered.Current.TotalFileCount);
        }
    }

    /// <summary>Crashes the inner in-memory file system at the n-th mutating operation, then throws (and keeps
    /// throwing: the machine is down).</summary>
    private sealed class CrashingFileSystem(InMemoryFileSystem inner, int crashAt) : IFileSystem
    {
        private int _operations;
        private int _crashAt = crashAt;

        public bool Crashed { get; private set; }

        /// <summary>Crash at the <paramref name="operations"/>-th mutating operation from now.</summary>
        public void Arm(int operations)
        {
            _operations = 0;
            _crashAt = operations;
        }

        private void Step()
        {
            if (Crashed) throw new IOException("the machine is down");
            if (++_operations < _crashAt) return;
            Crashed = true;
            inner.Crash();
            throw new IOException($"injected crash at operation {_crashAt}");
        }

        public void CreateDirectory(string path) { Step(); inner.CreateDirectory(path); }
        public bool FileExists(string path) => inner.FileExists(path);
        public bool DirectoryExists(string path) => inner.DirectoryExists(path);
        public IReadOnlyList<string> ListFiles(string directory) => inner.ListFiles(directory);
        public long GetFileLength(string path) => inner.GetFileLength(path);
        public void DeleteFile(string path) { Step(); inner.DeleteFile(path); }
        public void Rename(string from, string to) { Step(); inner.Rename(from, to); }
        public void SyncDirectory(string directory) { Step(); inner.SyncDirectory(directory); }
        public void HardLink(string existing, string link) { Step(); inner.HardLink(existing, link); }
        public IRandomAccessFile OpenRandomAccess(string path) => inner.OpenRandomAccess(path);

        public IWritableFile CreateWritable(string path)
        {
            Step();
            return new File(this, inner.CreateWritable(path));
        }

        private sealed class File(CrashingFileSystem fs, IWritableFile file) : IWritableFile
        {
            public long Length => file.Length;
            public void Append(ReadOnlySpan<byte> data) { fs.Step(); file.Append(data); }
            public void Flush() { fs.Step(); file.Flush(); }
            public void Sync() { fs.Step(); file.Sync(); }
            public void Dispose() => file.Dispose();
        }
    }
}
