// TEMPORARY local shim, never committed.
using Kv.Engine.Format;
using Kv.Engine.IO;
using Microsoft.Extensions.Logging;
using System.Buffers.Binary;

namespace Kv.Engine.Wal
{
    public enum WalSyncMode { PerWrite, Periodic }
    public sealed class WalOptions { public WalSyncMode SyncMode { get; set; } public TimeSpan PeriodicSyncInterval { get; set; } public bool UseDirectIO { get; set; } public TimeProvider TimeProvider { get; set; } = TimeProvider.System; public ILogger? Logger { get; set; } }
    public sealed class WalWriter : IDisposable
    {
        private readonly IWritableFile _f; private readonly object _g = new(); private readonly WalOptions _o;
        private WalWriter(IWritableFile f, WalOptions o) { _f = f; _o = o; }
        public static WalWriter Create(IFileSystem fs, string path, WalOptions o) => new(fs.CreateWritable(path), o);
        public long Length { get { lock (_g) return _f.Length; } }
        public void Append(ReadOnlySpan<byte> p) { lock (_g) { Span<byte> h = stackalloc byte[8]; BinaryPrimitives.WriteUInt32LittleEndian(h, Crc32C.Compute(p)); BinaryPrimitives.WriteInt32LittleEndian(h[4..], p.Length); _f.Append(h); _f.Append(p); if (_o.SyncMode == WalSyncMode.PerWrite) _f.Sync(); else _f.Flush(); } }
        public ValueTask AppendAsync(ReadOnlyMemory<byte> p, CancellationToken ct) { Append(p.Span); return ValueTask.CompletedTask; }
        public void Dispose() { lock (_g) { _f.Sync(); _f.Dispose(); } }
    }
    public static class WalReader
    {
        public delegate void RecordHandler(ReadOnlySpan<byte> payload, long offset);
        public static void Replay(IFileSystem fs, string path, RecordHandler h, ILogger? log)
        {
            using var f = fs.OpenRandomAccess(path); var buf = new byte[f.Length]; f.Read(0, buf); long off = 0;
            while (off + 8 <= buf.Length) { var crc = BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan((int)off)); var len = BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan((int)off + 4)); if (off + 8 + len > buf.Length) return; var p = buf.AsSpan((int)off + 8, len); if (Crc32C.Compute(p) != crc) { if (off + 8 + len == buf.Length) return; throw new CorruptionException(path, off, "crc"); } h(p, off); off += 8 + len; }
        }
    }
}
namespace Kv.Engine.Manifest
{
    public enum FileType { Log, Table, Manifest, Current, Temp, Lock }
    public static class FileNames
    {
        public static string LogFile(string d, ulong n) => Path.Combine(d, $"{n:D6}.log");
        public static string TableFile(string d, ulong n) => Path.Combine(d, $"{n:D6}.sst");
        public static bool CurrentExists(IFileSystem fs, string d) => fs.FileExists(Path.Combine(d, "CURRENT"));
        public static bool TryParse(string name, out FileType t, out ulong n)
        {
            t = default; n = 0;
            if (name.EndsWith(".log") && ulong.TryParse(name[..^4], out n)) { t = FileType.Log; return true; }
            if (name.EndsWith(".sst") && ulong.TryParse(name[..^4], out n)) { t = FileType.Table; return true; }
            return false;
        }
    }
    public sealed record FileMetadata(ulong Number, long Size, byte[] Smallest, byte[] Largest, long MinTs, long MaxTs);
    public sealed class VersionEdit { public ulong? Log; public List<(int, FileMetadata)> Adds = []; public void SetLogNumber(ulong n) => Log = n; public void AddFile(int l, FileMetadata f) => Adds.Add((l, f)); }
    public sealed class Version { public List<FileMetadata>[] L = [[], [], []]; public int LevelCount => 3; public IReadOnlyList<FileMetadata> Files(int l) => L[l]; }
    public sealed class VersionSet : IDisposable
    {
        private readonly IFileSystem _fs; private readonly string _d; private ulong _next = 2;
        public ulong LogNumber { get; private set; }
        public Version Current { get; private set; } = new();
        private VersionSet(IFileSystem fs, string d) { _fs = fs; _d = d; }
        public static VersionSet Create(IFileSystem fs, string d, ILoggerFactory? lf) { var v = new VersionSet(fs, d); v.Save(); return v; }
        public static VersionSet Recover(IFileSystem fs, string d, ILoggerFactory? lf)
        {
            var v = new VersionSet(fs, d); using var f = fs.OpenRandomAccess(Path.Combine(d, "CURRENT")); var b = new byte[f.Length]; f.Read(0, b);
            var lines = System.Text.Encoding.UTF8.GetString(b).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            v.LogNumber = ulong.Parse(lines[0]); v._next = ulong.Parse(lines[1]);
            foreach (var l in lines.Skip(2)) { var p = l.Split(' '); v.Current.L[int.Parse(p[0])].Add(new FileMetadata(ulong.Parse(p[1]), long.Parse(p[2]), [], [], 0, 0)); }
            return v;
        }
        public void MarkFileNumberUsed(ulong n) { if (_next <= n) _next = n + 1; }
        public ulong NewFileNumber() { lock (this) return _next++; }
        public void LogAndApply(VersionEdit e) { lock (this) { if (e.Log is { } l) LogNumber = l; foreach (var (lv, f) in e.Adds) Current.L[lv].Add(f); Save(); } }
        public HashSet<ulong> LiveFileNumbers() { var h = new HashSet<ulong>(); foreach (var l in Current.L) foreach (var f in l) h.Add(f.Number); return h; }
        private void Save()
        {
            var sb = new System.Text.StringBuilder(); sb.Append(LogNumber).Append('\n').Append(_next + 100).Append('\n');
            for (var i = 0; i < 3; i++) foreach (var f in Current.L[i]) sb.Append($"{i} {f.Number} {f.Size}\n");
            var tmp = Path.Combine(_d, "CURRENT.tmp"); using (var w = _fs.CreateWritable(tmp)) { w.Append(System.Text.Encoding.UTF8.GetBytes(sb.ToString())); w.Sync(); }
            _fs.Rename(tmp, Path.Combine(_d, "CURRENT")); _fs.SyncDirectory(_d);
        }
        public void Dispose() { }
    }
}
namespace Kv.Engine.IO
{
    public sealed class InMemoryFileSystem : IFileSystem
    {
        private readonly Dictionary<string, MemoryStream> _files = new();
        public void CreateDirectory(string path) { }
        public bool FileExists(string path) { lock (_files) return _files.ContainsKey(path); }
        public bool DirectoryExists(string path) => true;
        public IReadOnlyList<string> ListFiles(string d) { lock (_files) return _files.Keys.Where(k => Path.GetDirectoryName(k) == d).Select(Path.GetFileName).ToList()!; }
        public long GetFileLength(string path) { lock (_files) return _files[path].Length; }
        public void DeleteFile(string path) { lock (_files) _files.Remove(path); }
        public void Rename(string from, string to) { lock (_files) { _files[to] = _files[from]; _files.Remove(from); } }
        public void SyncDirectory(string directory) { }
        public void HardLink(string existing, string link) => throw new NotSupportedException();
        private readonly Dictionary<MemoryStream, long> _synced = new(); private int _gen;
        public void Crash() { lock (_files) { _gen++; foreach (var (k, ms) in _files.ToList()) { var n = _synced.GetValueOrDefault(ms); var c = new MemoryStream(); c.Write(ms.GetBuffer().AsSpan(0, (int)Math.Min(n, ms.Length))); _files[k] = c; _synced[c] = c.Length; } } }
        public IWritableFile CreateWritable(string path) { var ms = new MemoryStream(); lock (_files) _files[path] = ms; return new W(ms, this, _gen); }
        private sealed class W(MemoryStream ms, InMemoryFileSystem fs, int gen) : IWritableFile { object g => fs._files; void Check() { if (gen != fs._gen) throw new IOException("crashed"); } public long Length { get { lock (g) return ms.Length; } } public void Append(ReadOnlySpan<byte> d) { lock (g) { Check(); ms.Write(d); } } public void Flush() { } public void Sync() { lock (g) { Check(); fs._synced[ms] = ms.Length; } } public void Dispose() { } }
        public IRandomAccessFile OpenRandomAccess(string path) { byte[] b; lock (_files) b = _files[path].ToArray(); return new R(path, b); }
        public void CorruptByte(string path, long offset) { lock (_files) { var ms = _files[path]; var b = ms.GetBuffer(); b[offset] ^= 0xFF; } }
        private sealed class R(string p, byte[] b) : IRandomAccessFile { public string Path => p; public long Length => b.Length; public int Read(long o, Span<byte> d) { var n = (int)Math.Max(0, Math.Min(d.Length, b.Length - o)); b.AsSpan((int)o, n).CopyTo(d); return n; } public void Dispose() { } }
    }
}
