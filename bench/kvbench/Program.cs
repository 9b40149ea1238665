namespace Kv.Bench;

/// <summary>
/// kvbench: db_bench-compatible driver for the engine, e.g.
/// <c>kvbench --benchmarks=fillrandom,readrandom --num=1000000 --key_size=16 --value_size=100 --db=/tmp/kv</c>.
/// A hidden <c>--crash-writer</c> mode serves the SIGKILL crash tests (see <see cref="CrashWriter"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var options = BenchOptions.Parse(args, Console.Error);
        if (options is null) return 2;
        try
        {
            if (options.CrashWriter) return CrashWriter.Run(options, Console.Out);
            using var runner = new BenchRunner(options, Console.Out);
            return runner.Run();
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"kvbench: {e.Message}");
            return 1;
        }
    }
}
