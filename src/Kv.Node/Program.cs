namespace Kv.Node;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("kv-node: the server is not built yet (see issues 4 and 6).");
        return 2;
    }
}
