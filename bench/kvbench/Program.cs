namespace Kv.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("kvbench: the engine is not built yet (see issue 2).");
        return 2;
    }
}
