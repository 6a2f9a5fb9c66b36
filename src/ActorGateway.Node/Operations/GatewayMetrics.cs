using Prometheus;

namespace ActorGateway.Node.Operations;

/// <summary>
/// This node's metrics on prometheus-net's default registry, which also carries the process and
/// .NET runtime metrics (CPU, memory, GC, thread pool, and the runtime's own meters). Counters and
/// histograms are updated where things happen; the gauges describe the cluster, queue and
/// destinations and are set from the actors' answers right before each scrape (see
/// <see cref="SetGauges"/>).
/// </summary>
public sealed class GatewayMetrics
{
    // Static fields before Instance: its constructor uses them.
    static readonly string[] Destination = ["pool", "destination"];
    static readonly HashSet<string> FromSingletons = [QueueMessages, QueueNextAttempt, QueueOldestAge, BlacklistListings];
    // Delivery latency spans milliseconds (loopback) to days (retries).
    static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400];
    // Fine around the 25 ms a client should wait at most for its 250, so that a p99 near it can be read.
    static readonly double[] AcceptBuckets = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public static GatewayMetrics Instance { get; } = new();

    readonly Counter _accepted = Metrics.CreateCounter("actorgateway_accepted_total", "Messages accepted (250) by tenant.", "tenant");
    readonly Counter _rejected = Metrics.CreateCounter("actorgateway_rejected_total", "Transactions refused at SMTP by reason.", "reason");
    readonly Counter _rateLimited = Metrics.CreateCounter("actorgateway_ratelimit_rejections_total", "Messages refused with 451 4.7.1 Ratelimit reached, by tenant.", "tenant");
    readonly Counter _results = Metrics.CreateCounter("actorgateway_delivery_results_total",
        "Recipient results of delivery attempts by pool, status (delivered, deferred, failed) and tenant.", "pool", "status", "tenant");
    readonly Counter _destinationResults = Metrics.CreateCounter("actorgateway_destination_results_total",
        "Deliveries from this node by destination (domain or provider group) and result (delivered, deferred, failed, mixed: per recipient).", "pool", "destination", "result");
    readonly Histogram _scan = Metrics.CreateHistogram("actorgateway_scan_seconds", "Time spent scanning accepted messages, by scanner.",
        new HistogramConfiguration { LabelNames = ["scanner"], Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    readonly Histogram _accept = Metrics.CreateHistogram("actorgateway_accept_seconds",
        "From the end of the client's message data to the gateway's reply (scans, signing, the durable write).",
        new HistogramConfiguration { LabelNames = ["result"], Buckets = AcceptBuckets });
    readonly Histogram _journalWrite = Metrics.CreateHistogram("actorgateway_journal_write_seconds",
        "From an event handed to the journal to its commit (what each 250 waits for on storage).",
        new HistogramConfiguration { Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    readonly Histogram _delivery = Metrics.CreateHistogram("actorgateway_delivery_seconds",
        "From acceptance to a recipient's final result (delivered or failed), by pool and status.",
        new HistogramConfiguration { LabelNames = ["pool", "status"], Buckets = LatencyBuckets });

    readonly Counter _webhookSent = Metrics.CreateCounter("actorgateway_webhook_events_sent_total",
        "Delivery events a tenant's webhook accepted (2xx), by tenant.", "tenant");
    readonly Counter _webhookFailedPosts = Metrics.CreateCounter("actorgateway_webhook_post_failures_total",
        "Webhook POSTs that failed (not 2xx, no connection, timeout) and are retried, by tenant.", "tenant");
    readonly Counter _webhookGivenUp = Metrics.CreateCounter("actorgateway_webhook_events_failed_total",
        "Delivery events given up (too old, or the tenant's webhook was removed), by tenant.", "tenant");
    readonly Gauge _webhookPending = Metrics.CreateGauge("actorgateway_webhook_events_pending",
        "Delivery events waiting to be sent, by tenant (on the node that runs the tenant's event queue).", "tenant");

    // The gauges, set at each scrape from the actors' answers.
    public const string ClusterMembers = "actorgateway_cluster_members", UnreachableMembers = "actorgateway_cluster_unreachable_members",
        QueueMessages = "actorgateway_queue_messages", QueueNextAttempt = "actorgateway_queue_next_attempt_seconds",
        QueueOldestAge = "actorgateway_queue_oldest_message_age_seconds", BlacklistListings = "actorgateway_blacklist_listings",
        DestinationConnections = "actorgateway_destination_connections", DestinationLimit = "actorgateway_destination_concurrency_limit",
        DestinationQueued = "actorgateway_destination_queued", DestinationPaused = "actorgateway_destination_paused",
        SmtpConnections = "actorgateway_smtp_connections", SmtpStress = "actorgateway_smtp_stress";

    readonly Dictionary<string, (Gauge Gauge, HashSet<string[]> Shown)> _gauges = new[]
    {
        (ClusterMembers, "Cluster members as this node sees them, by status.", ["status"]),
        (UnreachableMembers, "Members this node cannot reach.", []),
        (QueueMessages, "Messages in the queue (cluster-wide).", []),
        (QueueNextAttempt, "Seconds until the earliest scheduled retry.", []),
        (QueueOldestAge, "Age of the oldest queued message.", []),
        (BlacklistListings, "Current listings of the gateway's addresses.", []),
        (DestinationConnections, "Deliveries running to a destination from this node.", Destination),
        (DestinationLimit, "A destination's current adaptive connection limit on this node.", Destination),
        (DestinationQueued, "Deliveries waiting for a connection to a destination on this node.", Destination),
        (DestinationPaused, "1 while a destination is paused after repeated failures.", Destination),
        (SmtpConnections, "Open SMTP connections on this node.", []),
        (SmtpStress, "1 while the SMTP server is in stress mode (short timeouts).", []),
    }.ToDictionary(g => g.Item1, g => (Metrics.CreateGauge(g.Item1, g.Item2, g.Item3), new HashSet<string[]>(LabelsComparer.Instance)));
    readonly object _scrape = new();

    public void Accepted(string tenant) => _accepted.WithLabels(tenant).Inc();
    public void Rejected(string reason) => _rejected.WithLabels(reason).Inc();
    public void RateLimited(string tenant) => _rateLimited.WithLabels(tenant).Inc();
    public void DeliveryResult(string pool, string status, string tenant) => _results.WithLabels(pool, status, tenant).Inc();
    public void DestinationResult(string pool, string destination, string result) => _destinationResults.WithLabels(pool, destination, result).Inc();
    public void Scanned(string scanner, TimeSpan took) => _scan.WithLabels(scanner).Observe(took.TotalSeconds);
    public void JournalWritten(TimeSpan took) => _journalWrite.Observe(took.TotalSeconds);
    public void Answered(bool accepted, TimeSpan took) => _accept.WithLabels(accepted ? "accepted" : "refused").Observe(took.TotalSeconds);
    public void WebhookSent(string tenant) => _webhookSent.WithLabels(tenant).Inc();
    public void WebhookFailedPost(string tenant) => _webhookFailedPosts.WithLabels(tenant).Inc();
    public void WebhookGivenUp(string tenant) => _webhookGivenUp.WithLabels(tenant).Inc();
    public void WebhookPending(string tenant, int count) => _webhookPending.WithLabels(tenant).Set(count);
    public void Finished(string pool, string status, TimeSpan sinceAccepted) => _delivery.WithLabels(pool, status).Observe(Math.Max(0, sinceAccepted.TotalSeconds));

    /// <summary>A gauge value of one scrape: one of the gauges above, its label values (in their order) and value.</summary>
    public sealed record GaugeValue(string Name, string[] Labels, double Value);

    /// <summary>
    /// Sets the gauges of this scrape and writes every metric in the text exposition format. A label
    /// set that a gauge had in the previous scrape but not in this one (a destination gone idle, a
    /// member removed) is removed, so that no stale series stays.
    /// </summary>
    public async Task ExportAsync(IEnumerable<GaugeValue> values, Stream output, CancellationToken ct)
    {
        lock (_scrape)
        {
            var now = new Dictionary<string, List<GaugeValue>>();
            foreach (var v in values) (now.TryGetValue(v.Name, out var list) ? list : now[v.Name] = []).Add(v);
            foreach (var (name, known) in _gauges.ToArray())
            {
                // The queue's and blacklists' gauges come from singletons: missing = it was moving; keep the last values.
                if (!now.TryGetValue(name, out var list) && FromSingletons.Contains(name)) continue;
                var shown = new HashSet<string[]>(LabelsComparer.Instance);
                foreach (var v in list ?? []) { known.Gauge.WithLabels(v.Labels).Set(v.Value); shown.Add(v.Labels); }
                foreach (var gone in known.Shown.Where(l => !shown.Contains(l))) known.Gauge.RemoveLabelled(gone);
                _gauges[name] = (known.Gauge, shown);
            }
        }
        await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(output, ct);
    }

    sealed class LabelsComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelsComparer Instance = new();
        public bool Equals(string[]? a, string[]? b) => a is not null && b is not null && a.AsSpan().SequenceEqual(b);
        public int GetHashCode(string[] labels) => labels.Aggregate(17, (h, l) => h * 31 + l.GetHashCode());
    }
}
