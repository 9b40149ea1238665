using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Reads an EventPipe trace of the runtime's GC events (dotnet-trace, Microsoft-Windows-DotNETRuntime:0x1:5) in one of
// three ways; the figures are estimates from the runtime's allocation samples (one GCAllocationTick event per
// ~100 KB allocated, naming the type and size of the object that crossed the threshold), not counts.
//   kv-allocs TRACE [REQUESTS] [TOP]      bytes allocated by type, per request when given a request count
//   kv-allocs --gcs TRACE                 every collection: generation, reason, how long threads were stopped,
//                                         bytes promoted out of generation 0 and 1; then the count, total and longest
//   kv-allocs --stacks FILTER TRACE [TOP] the call stacks that allocated the samples whose "type kind size" line
//                                         contains FILTER (e.g. "Byte[] Small size~4K")
if (args.Length >= 2 && args[0] == "--gcs") return Collections(args[1]);
if (args.Length >= 3 && args[0] == "--stacks") return Stacks(args[1], args[2], args.Length > 3 ? int.Parse(args[3]) : 6);
if (args.Length is < 1 or > 3 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: kv-allocs TRACE.nettrace [REQUESTS] [TOP] | --gcs TRACE.nettrace | --stacks FILTER TRACE.nettrace [TOP]");
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

// A pause runs from the start of suspending the runtime to the end of restarting it; a background gen2 collection
// runs mostly between its pauses, so its own pauses are listed as such and its span is not counted.
static int Collections(string trace)
{
    using var source = new EventPipeEventSource(trace);
    double suspendStart = 0, maxPause = 0, totalPause = 0;
    var pauses = 0;
    var current = "";
    source.Clr.GCSuspendEEStart += e => suspendStart = e.TimeStampRelativeMSec;
    source.Clr.GCStart += e => current = $"gen{e.Depth} {e.Type} ({e.Reason})";
    source.Clr.GCHeapStats += e => current += $", promoted from gen0 {e.TotalPromotedSize0 / 1024} KiB, from gen1 {e.TotalPromotedSize1 / 1024} KiB";
    source.Clr.GCRestartEEStop += e =>
    {
        var pause = e.TimeStampRelativeMSec - suspendStart;
        Console.WriteLine($"{suspendStart,10:0.0} ms  paused {pause,6:0.00} ms  {(current.Length > 0 ? current : "(a background collection's pause)")}");
        current = "";
        pauses++;
        totalPause += pause;
        maxPause = Math.Max(maxPause, pause);
    };
    source.Process();
    Console.WriteLine($"{pauses} pauses, {totalPause:0.0} ms in all, longest {maxPause:0.00} ms");
    return 0;
}

static int Stacks(string filter, string trace, int top)
{
    using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(trace));
    var bytesByStack = new Dictionary<string, long>();
    foreach (var e in log.Events)
    {
        if (e is not GCAllocationTickTraceData sample) continue;
        var size = sample.ObjectSize < 1024 ? $"{sample.ObjectSize}" : $"{sample.ObjectSize / 1024}K";
        var what = $"{sample.TypeName} {sample.AllocationKind} size~{size}";
        if (!what.Contains(filter, StringComparison.Ordinal)) continue;
        var frames = new List<string>();
        for (var frame = e.CallStack(); frame is not null && frames.Count < 8; frame = frame.Caller)
            frames.Add(frame.CodeAddress.FullMethodName is { Length: > 0 } name ? name : $"{frame.CodeAddress.ModuleName}!{frame.CodeAddress.Address:x}");
        var key = what + "\n      " + string.Join("\n      ", frames);
        bytesByStack[key] = bytesByStack.GetValueOrDefault(key) + sample.AllocationAmount64;
    }
    foreach (var (stack, bytes) in bytesByStack.OrderByDescending(x => x.Value).Take(top))
        Console.WriteLine($"{bytes / 1024,10} KiB  {stack}");
    return 0;
}
