using Kv.Engine.Memtable;
using Kv.Engine.Wal;

namespace Kv.Engine;

/// <summary>
/// A memtable and the WAL file whose records it holds: writes append to this WAL and insert into this
/// memtable, never one generation's WAL with another's memtable (else deleting the WAL after flushing its
/// memtable could drop a write that only the next memtable holds).
/// </summary>
/// <remarks>
/// Threading: writers enter with <see cref="TryEnterWriter"/> (lock-free) and leave with
/// <see cref="ExitWriter"/>; rotation calls <see cref="Seal"/> and then <see cref="WaitForWriters"/>.
/// Enter increments then checks the sealed flag, Seal sets the flag then reads the count, both with full
/// fences: so either the writer sees the seal and backs out, or the sealer sees the writer and waits.
/// </remarks>
internal sealed class MemtableGeneration
{
    private int _writers;
    private int _sealed;

    public MemtableGeneration(SkipListMemtable memtable, WalWriter wal, ulong logNumber)
    {
        Memtable = memtable;
        Wal = wal;
        LogNumber = logNumber;
    }

    public SkipListMemtable Memtable { get; }
    public WalWriter Wal { get; }
    public ulong LogNumber { get; }

    public bool IsSealed => Volatile.Read(ref _sealed) != 0;

    public bool TryEnterWriter()
    {
        Interlocked.Increment(ref _writers);
        if (Volatile.Read(ref _sealed) == 0) return true;
        Interlocked.Decrement(ref _writers);
        return false;
    }

    public void ExitWriter() => Interlocked.Decrement(ref _writers);

    /// <summary>Lets <paramref name="count"/> writers out at once: the WAL's group leader, for the asynchronous
    /// writers of a group it has applied (or failed).</summary>
    public void ExitWriters(int count) => Interlocked.Add(ref _writers, -count);

    public void Seal() => Interlocked.Exchange(ref _sealed, 1);

    /// <summary>Waits until every writer that entered before <see cref="Seal"/> has inserted and left.</summary>
    public void WaitForWriters()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _writers) != 0) spin.SpinOnce(sleep1Threshold: 20);
    }
}
