using ActorGateway.Mail.Tenants;
using ActorGateway.Node.Delivery;
using ActorGateway.Node.Monitor;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;
using ActorGateway.Node.RateLimit;
using ActorGateway.Node.Retention;
using ActorGateway.Smtp.Hosting;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ActorGateway.Node.Operations;

/// <summary>What the operations endpoint reaches on this node.</summary>
public sealed record OperationsContext(ActorSystem System, Func<IActorRef> Messages, Func<IActorRef> Limiters, Func<IActorRef> Sweeper,
    Func<IActorRef> BlacklistMonitor, Func<TenantDirectory> Tenants, RateLimitOverrides Overrides, ActorGateway.Node.Storage.StorageHealth Storage,
    OperationsAccess Access, DeliveryRecordStore Records, Func<IReadOnlyList<IActorRef>> DeliveryAgents, Func<SmtpServer?>? Smtp = null,
    ActorGateway.Node.Delivery.TlsReportSender? TlsReports = null);

/// <summary>
/// The management HTTP API of a node (what `actorgw` talks to), after Petabridge.Cmd's
/// palettes: cluster, sharding, queue, tenants, blacklists; plus health and Prometheus
/// metrics. Health and metrics are open (they carry no personal data); every /api read needs
/// the read token or the operations token, every change the operations token (Authorization:
/// Bearer; see <see cref="OperationsAccess"/>).
/// </summary>
public static class OperationsApi
{
    static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static void Map(WebApplication app, OperationsContext ops, int port)
    {
        var api = app.MapGroup("").RequireHost($"*:{port}");
        var reads = api.MapGroup("").Requiring(ops.Access.ToRead);
        var changes = api.MapGroup("").Requiring(ops.Access.ToChange);
        var cluster = Cluster.Get(ops.System);

        // Health and metrics are open: probes and scrapers carry no token, and these hold no personal data.
        api.MapGet("/health/live", () => Results.Text("live\n"));
        api.MapGet("/health/ready", async (CancellationToken ct) =>
        {
            var up = cluster.SelfMember.Status == MemberStatus.Up;
            // Ready = able to accept mail durably: a member of the cluster, and the store takes writes.
            var (storage, why) = await ops.Storage.CheckAsync(ct);
            return up && storage ? Results.Text("ready\n")
                : Results.Text($"not ready: cluster member {(up ? "up" : cluster.SelfMember.Status.ToString())}, storage {why}\n", statusCode: 503);
        });
        api.MapGet("/metrics", async (HttpContext context, CancellationToken ct) =>
        {
            var gauges = await GaugesAsync(ops, cluster);
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await GatewayMetrics.Instance.ExportAsync(gauges, context.Response.Body, ct);
        });

        // ---- cluster ----
        reads.MapGet("/api/cluster/members", () => Results.Json(Members(cluster)));
        reads.MapGet("/api/cluster/leader", () => Results.Json(new { leader = cluster.State.Leader?.ToString(), self = cluster.SelfAddress.ToString() }));
        reads.MapGet("/api/cluster/singletons", () =>
        {
            // Singletons without a role run on the oldest member that is up.
            var oldest = cluster.State.Members.Where(m => m.Status == MemberStatus.Up).OrderBy(m => m, Member.AgeOrdering).FirstOrDefault();
            var where = oldest?.Address.ToString();
            return Results.Json(new[] { "queue-sweeper", "blacklist-monitor", "message shard coordinator", "ratelimit shard coordinator" }
                .Select(s => new { singleton = s, node = where }));
        });
        changes.MapPost("/api/cluster/leave", (string? address) =>
        {
            var a = address is null ? cluster.SelfAddress : Address.Parse(address);
            cluster.Leave(a);
            return Results.Json(new { done = true, text = $"{a} is leaving the cluster" });
        });
        changes.MapPost("/api/cluster/down", (string address) =>
        {
            var a = Address.Parse(address);
            if (cluster.State.Members.All(m => m.Address != a)) return Results.Json(new { done = false, text = $"{a} is not a member" }, statusCode: 404);
            cluster.Down(a);
            return Results.Json(new { done = true, text = $"{a} downed" });
        });
        changes.MapPost("/api/cluster/down-unreachable", () =>
        {
            var downed = cluster.State.Unreachable.Select(m => m.Address).ToArray();
            foreach (var a in downed) cluster.Down(a);
            return Results.Json(new { done = true, text = downed.Length == 0 ? "no unreachable member" : "downed " + string.Join(", ", downed) });
        });
        reads.MapGet("/api/cluster/tail", async (HttpResponse response, CancellationToken ct) =>
        {
            // Membership events as they happen, one line each, until the client goes away.
            response.ContentType = "text/plain; charset=utf-8";
            var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
            var tail = ops.System.ActorOf(Props.Create(() => new ClusterTail(lines.Writer)));
            try
            {
                await foreach (var line in lines.Reader.ReadAllAsync(ct))
                {
                    await response.WriteAsync(line + "\n", ct);
                    await response.Body.FlushAsync(ct);
                }
            }
            catch (OperationCanceledException) { }
            finally { ops.System.Stop(tail); }
        });
        reads.MapGet("/api/sharding/region-stats", async () =>
        {
            var regions = new[] { (MessageExtractor.RegionName, ops.Messages()), (TenantRateLimiter.RegionName, ops.Limiters()) };
            var stats = new List<object>();
            foreach (var (name, region) in regions)
            {
                var s = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(AskTimeout), AskTimeout + TimeSpan.FromSeconds(2));
                stats.AddRange(s.Regions.Select(kv => new { region = name, node = kv.Key.ToString(), shards = kv.Value.Stats.Count, entities = kv.Value.Stats.Values.Sum() }));
            }
            return Results.Json(stats);
        });

        // ---- queue ----
        reads.MapGet("/api/queue", async (string? tenant, string? pool, string? state, string? destination, int? limit) =>
        {
            var pending = await ops.Sweeper().Ask<PendingMessages>(new GetPendingMessages(Math.Clamp(limit ?? 100, 1, 1000)), AskTimeout);
            var rows = new List<object>();
            foreach (var (id, next) in pending.Pending.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var d = await ops.Messages().Ask<MessageDetails>(new GetMessageDetails(id), AskTimeout);
                if (d.Envelope is not { } e) continue;
                if ((tenant is not null && e.Tenant != tenant) || (pool is not null && e.Pool != pool) || (state is not null && d.State != state)
                    || (destination is not null && !d.Pending.Any(r => r.EndsWith("@" + destination, StringComparison.OrdinalIgnoreCase)))) continue;
                rows.Add(new { id, tenant = e.Tenant, from = e.Sender, pool = e.Pool, state = d.State, pending = d.Pending, attempts = d.Attempts.Count,
                    next = NextAttempt(d, next), received = e.ReceivedAt, size = d.Size });
            }
            return Results.Json(new { total = pending.Total, shown = rows });
        });
        reads.MapGet("/api/queue/{id}", async (string id, CancellationToken ct) =>
        {
            var d = await ops.Messages().Ask<MessageDetails>(new GetMessageDetails(id), AskTimeout);
            if (d.Envelope is not null)
            {
                var swept = await ops.Sweeper().Ask<PendingMessages>(new GetPendingMessages(QueueId: id), AskTimeout);
                return Results.Json(d with { NextAttempt = NextAttempt(d, swept.Pending.GetValueOrDefault(id)) });
            }
            // Done and deleted from the queue: what its delivery record keeps.
            return await ops.Records.GetAsync(id, ct) is { } record
                ? Results.Json(new { queueId = id, state = "done", record })
                : Results.Json(new { done = false, text = $"no message {id}" }, statusCode: 404);
        });
        reads.MapGet("/api/log", async (string? queueId, string? messageId, string? sender, string? recipient, string? tenant,
            DateTimeOffset? since, DateTimeOffset? until, int? limit, CancellationToken ct) =>
            Results.Json(await ops.Records.SearchAsync(new RecordQuery(queueId, messageId, sender, recipient, tenant, since, until, limit ?? 100), ct)));
        changes.MapPost("/api/queue/{id}/{action}", async (string id, string action) =>
        {
            if (!Enum.TryParse<QueueAction>(action, ignoreCase: true, out var a))
                return Results.Json(new { done = false, text = "action must be retry, hold, release or bounce" }, statusCode: 400);
            var result = await ops.Messages().Ask<ControlResult>(new ControlMessage(id, a), AskTimeout);
            return Results.Json(new { done = result.Done, text = result.Text }, statusCode: result.Done ? 200 : 409);
        });

        // ---- delivery: this node's destinations ----
        reads.MapGet("/api/delivery/destinations", async () => Results.Json(await DestinationsAsync(ops)));
        // This node's TLS reports now (RFC 8460), instead of at the scheduled time: where each went.
        changes.MapPost("/api/tls-rpt/send", async (CancellationToken ct) => ops.TlsReports is { } reports
            ? Results.Json(await reports.SendAsync(ct))
            : Results.Json(new { done = false, text = "TLS reports are off on this node (gateway.delivery.tls-rpt, mta-sts)" }, statusCode: 409));

        // ---- tenants ----
        reads.MapGet("/api/tenants", async () =>
        {
            var rows = new List<object>();
            foreach (var t in ops.Tenants().All) rows.Add(await TenantRowAsync(ops, t));
            return Results.Json(rows);
        });
        reads.MapGet("/api/tenants/{id}", async (string id) =>
            ops.Tenants().All.FirstOrDefault(t => t.Id == id) is { } t ? Results.Json(await TenantRowAsync(ops, t))
                : Results.Json(new { done = false, text = $"no tenant {id}" }, statusCode: 404));
        changes.MapPost("/api/tenants/{id}/limit", async (string id, int? perMinute, bool? off, bool? reset) =>
        {
            if (ops.Tenants().All.All(t => t.Id != id)) return Results.Json(new { done = false, text = $"no tenant {id}" }, statusCode: 404);
            if (perMinute is < 1) return Results.Json(new { done = false, text = "per-minute must be at least 1" }, statusCode: 400);
            int? value = reset == true ? null : off == true ? 0 : perMinute ?? throw new BadHttpRequestException("give perMinute, off or reset");
            var answer = await RateLimitOverrides.SetAsync(ops.System, id, value);
            var ok = answer is Akka.DistributedData.UpdateSuccess;
            return Results.Json(new { done = ok, text = !ok ? $"not written to a majority of the nodes: {answer}"
                : value is null ? $"{id}: limit as configured" : value == 0 ? $"{id}: no limit" : $"{id}: {value} per minute" }, statusCode: ok ? 200 : 503);
        });

        // ---- blacklists ----
        reads.MapGet("/api/blacklist", async () => Results.Json(await ops.BlacklistMonitor().Ask<BlacklistStatus>(new GetBlacklistStatus(), AskTimeout)));
        changes.MapPost("/api/blacklist/check", async () =>
        {
            await ops.BlacklistMonitor().Ask<Status.Success>(new RunBlacklistCheck(), AskTimeout);
            return Results.Json(new { done = true, text = "check started; see blacklist status" });
        });

        // ---- the status page: the page itself is open (no data in it), its reads are guarded like the others ----
        StatusApi.Map(api, reads, ops);
    }

    static async Task<object> TenantRowAsync(OperationsContext ops, Tenant t)
    {
        var over = ops.Overrides.For(t.Id);
        var limit = ops.Overrides.LimitOf(t);
        int? used = null;
        if (limit is { } l)
            used = (await ops.Limiters().Ask<RateLimitAnswer>(new CheckRateLimit(t.Id, l), AskTimeout)).Used;
        return new { id = t.Id, domains = t.Domains, networks = t.Networks.Select(n => n.ToString()), users = t.Users.Keys,
            rateLimit = limit, usedLastMinute = used, limitSource = over is null ? "configuration" : "operations",
            // Where its events go, never the secret.
            webhook = t.Webhook?.Url.ToString(), webhookEvents = t.Webhook?.Events.Order().ToArray() };
    }

    /// <summary>Each delivery agent of this node (one per pool it sends for) with its destinations.</summary>
    /// <summary>
    /// When a message is next tried: the sweeper's time once it has been attempted, when that is later
    /// than its journal's (the sweeper defers mail for paused destinations without waking it).
    /// </summary>
    static DateTimeOffset? NextAttempt(MessageDetails d, DateTimeOffset? swept) =>
        d.Attempts.Count > 0 && swept is { } s && (d.NextAttempt is not { } j || s > j) ? s : d.NextAttempt;

    static async Task<DestinationStates[]> DestinationsAsync(OperationsContext ops) =>
        await Task.WhenAll(ops.DeliveryAgents().Select(a => a.Ask<DestinationStates>(new GetDestinationStates(), AskTimeout)));

    static object[] Members(Cluster cluster) =>
        cluster.State.Members.OrderBy(m => m.Address.ToString()).Select(m => (object)new
        {
            address = m.Address.ToString(), roles = m.Roles.OrderBy(r => r), status = m.Status.ToString(),
            reachable = !cluster.State.Unreachable.Contains(m), self = m.Address == cluster.SelfAddress,
        }).ToArray();

    static async Task<IEnumerable<GatewayMetrics.GaugeValue>> GaugesAsync(OperationsContext ops, Cluster cluster)
    {
        var gauges = new List<GatewayMetrics.GaugeValue>();
        void Add(string name, double value, params string[] labels) => gauges.Add(new(name, labels, value));
        foreach (var g in cluster.State.Members.GroupBy(m => m.Status)) Add(GatewayMetrics.ClusterMembers, g.Count(), g.Key.ToString());
        Add(GatewayMetrics.UnreachableMembers, cluster.State.Unreachable.Count);
        if (ops.Smtp?.Invoke() is { } smtp)
        {
            Add(GatewayMetrics.SmtpConnections, smtp.OpenSessions);
            Add(GatewayMetrics.SmtpStress, smtp.UnderStress ? 1 : 0);
        }
        try
        {
            var pending = await ops.Sweeper().Ask<PendingMessages>(new GetPendingMessages(0), TimeSpan.FromSeconds(3));
            Add(GatewayMetrics.QueueMessages, pending.Total);
            var due = pending.EarliestDue ?? pending.At;
            Add(GatewayMetrics.QueueNextAttempt, Math.Max(0, (due - pending.At).TotalSeconds));
            Add(GatewayMetrics.QueueOldestAge, pending.OldestReceived is { } oldest ? Math.Max(0, (pending.At - oldest).TotalSeconds) : 0);
            var status = await ops.BlacklistMonitor().Ask<BlacklistStatus>(new GetBlacklistStatus(), TimeSpan.FromSeconds(3));
            Add(GatewayMetrics.BlacklistListings, status.Current.Count);
        }
        catch (AskTimeoutException) { /* a singleton is moving: those gauges keep their last values in this scrape */ }
        var destinations = (await DestinationsAsync(ops)).SelectMany(a => a.Destinations.Select(d => (a.Pool, d))).ToArray();
        foreach (var (pool, d) in destinations)
        {
            Add(GatewayMetrics.DestinationConnections, d.Active, pool, d.Destination);
            Add(GatewayMetrics.DestinationLimit, d.Limit, pool, d.Destination);
            Add(GatewayMetrics.DestinationQueued, d.Queued, pool, d.Destination);
            Add(GatewayMetrics.DestinationPaused, d.PausedUntil is { } until && until > DateTimeOffset.UtcNow ? 1 : 0, pool, d.Destination);
        }
        return gauges;
    }

    /// <summary>Every endpoint of the group answers only when <paramref name="check"/> lets the request's Authorization header through.</summary>
    static RouteGroupBuilder Requiring(this RouteGroupBuilder group, Func<string?, AccessRefusal?> check) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (check(http.Request.Headers.Authorization.ToString()) is not { } refusal) return await next(context);
            if (refusal.StatusCode == StatusCodes.Status401Unauthorized) http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Json(new { done = false, text = refusal.Text }, statusCode: refusal.StatusCode);
        });

    /// <summary>Feeds membership events to one `cluster tail` client.</summary>
    sealed class ClusterTail : ReceiveActor
    {
        public ClusterTail(System.Threading.Channels.ChannelWriter<string> lines)
        {
            Receive<ClusterEvent.IMemberEvent>(e => lines.TryWrite($"{DateTimeOffset.UtcNow:O} {e.GetType().Name} {e.Member.Address} [{string.Join(",", e.Member.Roles)}] {e.Member.Status}"));
            Receive<ClusterEvent.UnreachableMember>(e => lines.TryWrite($"{DateTimeOffset.UtcNow:O} UnreachableMember {e.Member.Address}"));
            Receive<ClusterEvent.ReachableMember>(e => lines.TryWrite($"{DateTimeOffset.UtcNow:O} ReachableMember {e.Member.Address}"));
        }

        protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

        protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
