using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace ActorGateway.Node.Operations;

/// <summary>
/// This node's counters in Prometheus' text format (one process, one set: like a metrics
/// library's default registry). Counters only grow; gauges are read when scraped.
/// </summary>
public sealed class GatewayMetrics
{
    public static GatewayMetrics Instance { get; } = new();

    readonly ConcurrentDictionary<(string Name, string Labels), double> _counters = new();
    static readonly Dictionary<string, string> Help = new()
    {
        ["actorgateway_accepted_total"] = "Messages accepted (250) by tenant.",
        ["actorgateway_rejected_total"] = "Transactions refused at SMTP by reason.",
        ["actorgateway_delivery_results_total"] = "Recipient results of delivery attempts by pool and status (delivered, deferred, failed).",
        ["actorgateway_ratelimit_rejections_total"] = "Messages refused with 451 4.7.1 Ratelimit reached, by tenant.",
        ["actorgateway_scan_seconds_sum"] = "Time spent scanning accepted messages, by scanner.",
        ["actorgateway_scan_seconds_count"] = "Scans, by scanner.",
    };

    public void Accepted(string tenant) => Add("actorgateway_accepted_total", $"tenant=\"{Escape(tenant)}\"");
    public void Rejected(string reason) => Add("actorgateway_rejected_total", $"reason=\"{reason}\"");
    public void RateLimited(string tenant) => Add("actorgateway_ratelimit_rejections_total", $"tenant=\"{Escape(tenant)}\"");
    public void DeliveryResult(string pool, string status) => Add("actorgateway_delivery_results_total", $"pool=\"{pool}\",status=\"{status}\"");

    public void Scanned(string scanner, TimeSpan took)
    {
        Add("actorgateway_scan_seconds_sum", $"scanner=\"{scanner}\"", took.TotalSeconds);
        Add("actorgateway_scan_seconds_count", $"scanner=\"{scanner}\"");
    }

    void Add(string name, string labels, double by = 1) => _counters.AddOrUpdate((name, labels), by, (_, v) => v + by);

    /// <summary>The counters plus the gauges of this scrape, in the text exposition format.</summary>
    public string Render(IEnumerable<(string Name, string Help, string Labels, double Value)> gauges)
    {
        var text = new StringBuilder();
        foreach (var group in _counters.GroupBy(c => c.Key.Name).OrderBy(g => g.Key))
        {
            text.Append("# HELP ").Append(group.Key).Append(' ').Append(Help.GetValueOrDefault(group.Key, group.Key)).Append('\n');
            text.Append("# TYPE ").Append(group.Key).Append(" counter\n");
            foreach (var c in group.OrderBy(c => c.Key.Labels))
                text.Append(group.Key).Append('{').Append(c.Key.Labels).Append("} ").Append(c.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        foreach (var group in gauges.GroupBy(g => g.Name))
        {
            text.Append("# HELP ").Append(group.Key).Append(' ').Append(group.First().Help).Append('\n');
            text.Append("# TYPE ").Append(group.Key).Append(" gauge\n");
            foreach (var g in group)
                text.Append(group.Key).Append(g.Labels.Length > 0 ? "{" + g.Labels + "}" : "").Append(' ')
                    .Append(g.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return text.ToString();
    }

    static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
