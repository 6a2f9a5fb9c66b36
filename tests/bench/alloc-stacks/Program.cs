using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

// Where a process allocates, from a trace of the runtime's allocation events with stacks
// (provider Microsoft-Windows-DotNETRuntime, keyword GC, level verbose: one sample about every
// 100 KB allocated). Prints the sampled total, the sites (type and innermost frames) that
// allocate most, and the gateway's own methods with everything allocated beneath them.
//   usage: AllocStacks TRACE.nettrace [MESSAGES] [SITES] [FRAMES]
// MESSAGES: how many messages the trace covers, for a per-message figure.
var path = args[0];
var messages = args.Length > 1 ? long.Parse(args[1]) : 0;
var sites = args.Length > 2 ? int.Parse(args[2]) : 25;
var frames = args.Length > 3 ? int.Parse(args[3]) : 5;

using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(path));
var bySite = new Dictionary<string, long>();
var byOwnMethod = new Dictionary<string, long>();
long total = 0;
foreach (var e in log.Events)
{
    if (e is not GCAllocationTickTraceData tick) continue;
    total += tick.AllocationAmount64;
    var stack = new List<string>();
    var counted = new HashSet<string>();
    for (var s = e.CallStack(); s is not null; s = s.Caller)
    {
        var method = s.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(method)) continue;
        stack.Add(method);
        if (method.StartsWith("ActorGateway.", StringComparison.Ordinal) && counted.Add(method))
            byOwnMethod[method] = byOwnMethod.GetValueOrDefault(method) + tick.AllocationAmount64;
    }
    var site = tick.TypeName + " <- " + string.Join(" <- ", stack.Take(frames));
    bySite[site] = bySite.GetValueOrDefault(site) + tick.AllocationAmount64;
}

string Share(long bytes) => $"{bytes / 1024,9:N0} KB {bytes * 100.0 / Math.Max(total, 1),5:F1}%" +
                            (messages > 0 ? $" {bytes / (double)messages / 1024,7:F2} KB/msg" : "");
Console.WriteLine($"sampled allocations: {Share(total)}{(messages > 0 ? $" over {messages} messages" : "")}");
Console.WriteLine($"--- the {sites} sites that allocate most (type <- innermost frames)");
foreach (var (site, bytes) in bySite.OrderByDescending(p => p.Value).Take(sites)) Console.WriteLine($"{Share(bytes)}  {site}");
Console.WriteLine("--- the gateway's methods, with all that is allocated beneath them");
foreach (var (method, bytes) in byOwnMethod.OrderByDescending(p => p.Value).Take(sites)) Console.WriteLine($"{Share(bytes)}  {method}");
