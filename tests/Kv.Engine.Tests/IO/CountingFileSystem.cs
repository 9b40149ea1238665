using Kv.Engine.IO;

namespace Kv.Engine.Tests.IO;

/// <summary>
/// Wraps a file system and counts the appends and syncs of the files it creates. <see cref="SyncGate"/> (open by
/// default) holds every sync until it is set, so a test can make writers pile up behind a sync deterministically.
/// Thread-safe.
/// </summary>
public sealed class CountingFileSystem(IFileSystem inner) : ForwardingFileSystem(inner)
{
    private int _appends;
    private int _syncs;
    private int _syncsStarted;

    public ManualResetEventSlim SyncGate { get; } = new(initialState: true);

    /// <summary>Extra time every sync takes (a slower disk).</summary>
    public TimeSpan SyncDelay { get; set; }

    public int Appends => Volatile.Read(ref _appends);
    public int Syncs => Volatile.Read(ref _syncs);
    public int SyncsStarted => Volatile.Read(ref _syncsStarted);

    public override IWritableFile CreateWritable(string path) => new CountingFile(this, Inner.CreateWritable(path));

    private sealed class CountingFile(CountingFileSystem fs, IWritableFile file) : IWritableFile
    {
        public long Length => file.Length;

        public void Append(ReadOnlySpan<byte> data)
        {
            Interlocked.Increment(ref fs._appends);
            file.Append(data);
        }

        public void Flush() => file.Flush();

        public void Sync()
        {
            Interlocked.Increment(ref fs._syncsStarted);
            fs.SyncGate.Wait();
            if (fs.SyncDelay > TimeSpan.Zero) Thread.Sleep(fs.SyncDelay);
            file.Sync();
            Interlocked.Increment(ref fs._syncs);
        }

        public void Dispose() => file.Dispose();
    }
}
