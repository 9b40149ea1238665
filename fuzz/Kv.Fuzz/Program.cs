using SharpFuzz;

namespace Kv.Fuzz;

/// <summary>SharpFuzz entry point for AFL++ (see fuzz/README.md).</summary>
public static class Program
{
    public static void Main(string[] args) => Fuzzer.OutOfProcess.Run(stream =>
    {
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        RespParserTarget.Run(memory.ToArray());
    });
}
