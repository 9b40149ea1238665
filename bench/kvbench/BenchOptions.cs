using System.Globalization;

namespace Kv.Bench;

/// <summary>db_bench's flags that kvbench understands, with db_bench's defaults.</summary>
internal sealed class BenchOptions
{
    public string Benchmarks { get; private set; } = "fillseq,fillrandom,overwrite,readrandom,readseq,seekrandom,deleterandom";
    public long Num { get; private set; } = 1_000_000;
    public long Reads { get; private set; } = -1;
    public int KeySize { get; private set; } = 16;
    public int ValueSize { get; private set; } = 100;
    public int Threads { get; private set; } = 1;
    public bool Sync { get; private set; }
    public string Db { get; private set; } = Path.Combine(Path.GetTempPath(), "kvbench");
    public bool UseExistingDb { get; private set; }
    public ulong Seed { get; private set; } = 301;
    public double CompressionRatio { get; private set; } = 0.5;
    public long MemtableSizeBytes { get; private set; } = 64L * 1024 * 1024;
    /// <summary>The engine's <c>MemtableHugePages</c> (no db_bench equivalent): --huge_pages=false to compare.</summary>
    public bool HugePages { get; private set; } = true;
    public bool CrashWriter { get; private set; }

    /// <summary>db_bench's --target_file_size_base, --max_bytes_for_level_base and
    /// --level0_file_num_compaction_trigger; null = the engine's default.</summary>
    public long? TargetFileSizeBytes { get; private set; }
    public long? LevelBaseBytes { get; private set; }
    public int? Level0CompactionTrigger { get; private set; }

    /// <summary>Print engine statistics to stderr after each benchmark (db_bench: --statistics).</summary>
    public bool ShowStats { get; private set; }

    /// <summary>Reads performed by each thread of a read benchmark (db_bench: --reads, or --num when negative).</summary>
    public long ReadsPerThread => Reads < 0 ? Num : Reads;

    /// <summary>Parses <c>--name=value</c> flags; returns null and writes a message for anything it does not know.</summary>
    public static BenchOptions? Parse(string[] args, TextWriter error)
    {
        var o = new BenchOptions();
        foreach (var arg in args)
        {
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                error.WriteLine($"kvbench: unexpected argument '{arg}' (flags look like --num=1000000)");
                return null;
            }
            var eq = arg.IndexOf('=');
            var name = eq < 0 ? arg[2..] : arg[2..eq];
            var value = eq < 0 ? "true" : arg[(eq + 1)..];
            try
            {
                switch (name)
                {
                    case "benchmarks": o.Benchmarks = value; break;
                    case "num": o.Num = ParseLong(value); break;
                    case "reads": o.Reads = ParseLong(value); break;
                    case "key_size": o.KeySize = (int)ParseLong(value); break;
                    case "value_size": o.ValueSize = (int)ParseLong(value); break;
                    case "threads": o.Threads = (int)ParseLong(value); break;
                    case "sync": o.Sync = ParseBool(value); break;
                    case "db": o.Db = value; break;
                    case "use_existing_db": o.UseExistingDb = ParseBool(value); break;
                    case "seed": o.Seed = (ulong)ParseLong(value); break;
                    case "compression_ratio": o.CompressionRatio = double.Parse(value, CultureInfo.InvariantCulture); break;
                    case "write_buffer_size": o.MemtableSizeBytes = ParseLong(value); break;
                    case "huge_pages": o.HugePages = ParseBool(value); break;
                    case "crash-writer": o.CrashWriter = ParseBool(value); break;
                    case "target_file_size_base": o.TargetFileSizeBytes = ParseLong(value); break;
                    case "max_bytes_for_level_base": o.LevelBaseBytes = ParseLong(value); break;
                    case "level0_file_num_compaction_trigger": o.Level0CompactionTrigger = (int)ParseLong(value); break;
                    case "statistics": o.ShowStats = ParseBool(value); break;
                    // db_bench flags that the comparison script passes to both tools and that do not apply here
                    case "compression_type": break;
                    default:
                        error.WriteLine($"kvbench: unknown flag --{name}");
                        return null;
                }
            }
            catch (FormatException)
            {
                error.WriteLine($"kvbench: bad value '{value}' for --{name}");
                return null;
            }
        }
        if (o.Num <= 0 || o.Threads <= 0 || o.KeySize <= 0 || o.ValueSize < 0)
        {
            error.WriteLine("kvbench: --num, --threads and --key_size must be positive, --value_size not negative");
            return null;
        }
        return o;
    }

    /// <summary>Applies the compaction flags that were given to <paramref name="options"/>.</summary>
    public Kv.Engine.EngineOptions ApplyCompactionFlags(Kv.Engine.EngineOptions options)
    {
        if (TargetFileSizeBytes is { } target) options.TargetFileSizeBytes = target;
        if (LevelBaseBytes is { } levelBase) options.LevelBaseBytes = levelBase;
        if (Level0CompactionTrigger is { } trigger) options.Level0CompactionTrigger = trigger;
        return options;
    }

    private static long ParseLong(string s) => long.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static bool ParseBool(string s) => s switch
    {
        "1" or "true" or "True" => true,
        "0" or "false" or "False" => false,
        _ => throw new FormatException(),
    };
}
