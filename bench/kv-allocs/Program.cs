using Microsoft.Diagnostics.Tracing;

// Sums the runtime's allocation samples (GCAllocationTick: one event per ~100 KB allocated, naming the type that
// crossed the threshold) in an EventPipe trace by type, and prints the heaviest types, per request when given a
// request count: kv-allocs TRACE.nettrace [REQUESTS] [TOP]. The figures are estimates from samples, not counts.
if (args.Length is < 1 or > 3)
{
    Console.Error.WriteLine("usage: kv-allocs TRACE.nettrace [REQUESTS] [TOP]");
    return 2;
}
var requests = args.Length > 1 ? long.Parse(args[1]) : 0;
var top = args.Length > 2 ? int.Parse(args[2]) : 15;
var bytesByType = new Dictionary<string, long>();
long total = 0;
using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += e =>
    {
        var type = e.TypeName ?? "?";
        bytesByType[type] = bytesByType.GetValueOrDefault(type) + e.AllocationAmount64;
        total += e.AllocationAmount64;
    };
    source.Process();
}
Console.WriteLine(requests > 0 ? $"{"bytes/req",10}  type (sampled: {total / 1024} KiB in all)" : $"{"KiB",10}  type");
foreach (var (type, bytes) in bytesByType.OrderByDescending(x => x.Value).Take(top))
    Console.WriteLine(requests > 0 ? $"{(double)bytes / requests,10:0}  {type}" : $"{bytes / 1024,10}  {type}");
return 0;
