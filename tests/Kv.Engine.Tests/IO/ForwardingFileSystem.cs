using Kv.Engine.IO;

namespace Kv.Engine.Tests.IO;

/// <summary>
/// An <see cref="IFileSystem"/> that passes every call to <see cref="Inner"/>: test doubles derive from it and
/// override only the calls they count, delay or break. Thread-safe when the inner file system is.
/// </summary>
public abstract class ForwardingFileSystem(IFileSystem inner) : IFileSystem
{
    protected IFileSystem Inner { get; } = inner;

    public virtual void CreateDirectory(string path) => Inner.CreateDirectory(path);
    public virtual bool FileExists(string path) => Inner.FileExists(path);
    public virtual bool DirectoryExists(string path) => Inner.DirectoryExists(path);
    public virtual IReadOnlyList<string> ListFiles(string directory) => Inner.ListFiles(directory);
    public virtual long GetFileLength(string path) => Inner.GetFileLength(path);
    public virtual void DeleteFile(string path) => Inner.DeleteFile(path);
    public virtual void Rename(string from, string to) => Inner.Rename(from, to);
    public virtual void SyncDirectory(string directory) => Inner.SyncDirectory(directory);
    public virtual void HardLink(string existing, string link) => Inner.HardLink(existing, link);
    public virtual IWritableFile CreateWritable(string path) => Inner.CreateWritable(path);
    public virtual IRandomAccessFile OpenRandomAccess(string path) => Inner.OpenRandomAccess(path);
}
