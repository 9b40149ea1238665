using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Kv.Simulation;

/// <summary>
/// The event log of a run. Every record (virtual time, kind, numbers, optional text) is folded into a running
/// XxHash64, so two runs are identical event for event exactly when their <see cref="Hash"/> and
/// <see cref="Count"/> are equal. Optionally keeps the last records as text for a failing test to print.
/// </summary>
/// <remarks>Threading: simulation thread only.</remarks>
public sealed class SimulationTrace
{
    private readonly Simulation _simulation;
    private readonly XxHash64 _hash = new();
    private readonly Queue<string> _tail = new();
    private readonly byte[] _record = new byte[1 + (8 * 4)];

    internal SimulationTrace(Simulation simulation) => _simulation = simulation;

    /// <summary>How many text lines to keep (0 = none, the default: formatting costs time).</summary>
    public int KeepLines { get; set; }

    public long Count { get; private set; }

    public ulong Hash => _hash.GetCurrentHashAsUInt64();

    public IReadOnlyCollection<string> Tail => _tail;

    public void Record(TraceKind kind, long a, long b, long c)
    {
        var r = _record.AsSpan();
        r[0] = (byte)kind;
        BinaryPrimitives.WriteInt64LittleEndian(r[1..], _simulation.NowTicks);
        BinaryPrimitives.WriteInt64LittleEndian(r[9..], a);
        BinaryPrimitives.WriteInt64LittleEndian(r[17..], b);
        BinaryPrimitives.WriteInt64LittleEndian(r[25..], c);
        _hash.Append(r);
        Count++;
        if (KeepLines > 0) Keep($"{_simulation.Now} {kind} {a} {b} {c}");
    }

    public void Note(int node, string text)
    {
        Record(TraceKind.Note, node, text.Length, 0);
        var bytes = Encoding.UTF8.GetBytes(text);
        _hash.Append(bytes);
        if (KeepLines > 0) Keep($"{_simulation.Now} node {node}: {text}");
    }

    private void Keep(string line)
    {
        _tail.Enqueue(line);
        while (_tail.Count > KeepLines) _tail.Dequeue();
    }
}
