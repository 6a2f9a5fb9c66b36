using System.CommandLine;
using System.Text.Json;
using ActorGateway.Cli;

// actorgw: inspect and operate an ActorGateway cluster through any node's operations endpoint.
var nodeOption = new Option<string>("--node")
{
    Description = "Operations endpoint of any node (env ACTORGW_NODE)",
    Recursive = true,
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ACTORGW_NODE") ?? "http://127.0.0.1:8025",
};
var tokenOption = new Option<string?>("--token")
{
    Description = "Token sent with every request (env ACTORGW_TOKEN): the read token may read, the operations token may read and change",
    Recursive = true,
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ACTORGW_TOKEN"),
};
var jsonOption = new Option<bool>("--json") { Description = "Print the node's JSON instead of tables", Recursive = true };

var root = new RootCommand("actorgw: the ActorGateway cluster's inspection and operations command line");
root.Options.Add(nodeOption);
root.Options.Add(tokenOption);
root.Options.Add(jsonOption);

Command Cmd(string name, string description, Func<NodeClient, ParseResult, bool, Task> action, params Symbol[] symbols)
{
    var command = new Command(name, description);
    foreach (var s in symbols)
        if (s is Argument a) command.Arguments.Add(a); else command.Options.Add((Option)s);
    command.SetAction(async (parse, _) =>
    {
        try
        {
            var node = parse.GetValue(nodeOption)!;
            await action(new NodeClient(new Uri(node.EndsWith('/') ? node : node + "/"), parse.GetValue(tokenOption)), parse, parse.GetValue(jsonOption));
            return 0;
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"actorgw: {e.Message}");
            return e.ExitCode;
        }
    });
    return command;
}

Command Group(string name, string description, params Command[] commands)
{
    var group = new Command(name, description);
    foreach (var c in commands) group.Subcommands.Add(c);
    return group;
}

static void Done(JsonElement result, bool json)
{
    if (json) Output.Json(result);
    else Console.WriteLine(result.Text("text"));
}

// ---- cluster ----
var address = new Argument<string>("address") { Description = "Member address, e.g. akka.tcp://actorgateway@127.0.0.2:4053" };
var optionalAddress = new Argument<string?>("address") { Description = "Member address (default: the node asked)", Arity = ArgumentArity.ZeroOrOne };
root.Subcommands.Add(Group("cluster", "Cluster membership",
    Cmd("show", "One line per member: address, roles, status, reachability; then the count", async (node, _, json) =>
    {
        var members = await node.GetAsync("api/cluster/members");
        if (json) { Output.Json(members); return; }
        var rows = members.EnumerateArray().ToArray();
        Output.Table(["ADDRESS", "STATUS", "REACHABLE", "ROLES"], rows.Select(m => new[]
            { m.Text("address") + (m.GetProperty("self").GetBoolean() ? " (this node)" : ""), m.Text("status"), m.GetProperty("reachable").GetBoolean() ? "yes" : "NO", m.Text("roles") }));
        Console.WriteLine($"{rows.Length} member(s), {rows.Count(m => m.Text("status") == "Up")} up, {rows.Count(m => !m.GetProperty("reachable").GetBoolean())} unreachable");
    }),
    Cmd("leader", "The cluster's leader", async (node, _, json) =>
    {
        var leader = await node.GetAsync("api/cluster/leader");
        if (json) Output.Json(leader); else Console.WriteLine(leader.Text("leader"));
    }),
    Cmd("singletons", "Where each cluster singleton runs", async (node, _, json) =>
    {
        var rows = await node.GetAsync("api/cluster/singletons");
        if (json) Output.Json(rows); else Output.Table(["SINGLETON", "NODE"], rows.EnumerateArray().Select(r => new[] { r.Text("singleton"), r.Text("node") }));
    }),
    Cmd("leave", "Let a member leave gracefully (default: the node asked)", async (node, parse, json) =>
        Done(await node.PostAsync("api/cluster/leave" + (parse.GetValue(optionalAddress) is { } a ? "?address=" + Uri.EscapeDataString(a) : "")), json), optionalAddress),
    Cmd("down", "Mark a member down (it is removed; its work moves)", async (node, parse, json) =>
        Done(await node.PostAsync("api/cluster/down?address=" + Uri.EscapeDataString(parse.GetValue(address)!)), json), address),
    Cmd("down-unreachable", "Mark every unreachable member down", async (node, _, json) => Done(await node.PostAsync("api/cluster/down-unreachable"), json)),
    Cmd("tail", "Membership events as they happen (Ctrl-C stops)", async (node, _, _) =>
    {
        await foreach (var line in node.LinesAsync("api/cluster/tail")) Console.WriteLine(line);
    })));

root.Subcommands.Add(Group("cluster-sharding", "Cluster sharding",
    Cmd("region-stats", "Shards and entities per node of each sharded region", async (node, _, json) =>
    {
        var rows = await node.GetAsync("api/sharding/region-stats");
        if (json) { Output.Json(rows); return; }
        Output.Table(["REGION", "NODE", "SHARDS", "ENTITIES"], rows.EnumerateArray().Select(r => new[] { r.Text("region"), r.Text("node"), r.Text("shards"), r.Text("entities") }));
    })));

// ---- queue ----
var id = new Argument<string>("id") { Description = "Queue id" };
var tenantFilter = new Option<string?>("--tenant") { Description = "Only this tenant's messages" };
var poolFilter = new Option<string?>("--pool") { Description = "good or bad" };
var stateFilter = new Option<string?>("--state") { Description = "queued, deferred, delivering, held, waiting for its pool" };
var destinationFilter = new Option<string?>("--destination") { Description = "Only messages with a recipient at this domain" };
var limit = new Option<int>("--limit") { Description = "At most this many messages", DefaultValueFactory = _ => 100 };
Command QueueAction(string action, string description) => Cmd(action, description, async (node, parse, json) =>
    Done(await node.PostAsync($"api/queue/{Uri.EscapeDataString(parse.GetValue(id)!)}/{action}"), json), id);
root.Subcommands.Add(Group("queue", "The queue of the whole cluster",
    Cmd("list", "Queued messages (filters: --tenant --pool --state --destination)", async (node, parse, json) =>
    {
        var query = string.Join("&", new[] { ("tenant", parse.GetValue(tenantFilter)), ("pool", parse.GetValue(poolFilter)), ("state", parse.GetValue(stateFilter)),
            ("destination", parse.GetValue(destinationFilter)), ("limit", parse.GetValue(limit).ToString()) }
            .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
        var result = await node.GetAsync("api/queue?" + query);
        if (json) { Output.Json(result); return; }
        var rows = result.GetProperty("shown").EnumerateArray().ToArray();
        Output.Table(["ID", "TENANT", "POOL", "STATE", "ATTEMPTS", "NEXT", "FROM", "PENDING"], rows.Select(r => new[]
            { r.Text("id"), r.Text("tenant"), r.Text("pool"), r.Text("state"), r.Text("attempts"), r.Text("next"), r.Text("from"), r.Text("pending") }));
        Console.WriteLine($"{rows.Length} shown of {result.Text("total")} queued");
    }, tenantFilter, poolFilter, stateFilter, destinationFilter, limit),
    Cmd("show", "Envelope, verdicts and every attempt with its replies", async (node, parse, json) =>
    {
        var d = await node.GetAsync($"api/queue/{Uri.EscapeDataString(parse.GetValue(id)!)}");
        if (json) { Output.Json(d); return; }
        if (d.TryGetProperty("record", out var record))
        {
            Console.WriteLine($"queue id:   {d.Text("queueId")}\nstate:      done (deleted from the queue; its delivery record)");
            PrintRecord(record);
            return;
        }
        var e = d.GetProperty("envelope");
        Console.WriteLine($"queue id:   {d.Text("queueId")}\nstate:      {d.Text("state")}\ntenant:     {e.Text("tenant")}\nfrom:       <{e.Text("sender")}>");
        Console.WriteLine($"received:   {e.Text("receivedAt")} from {Client(e)}\nsize:       {d.Text("size")} octets");
        Console.WriteLine($"pool:       {e.Text("pool")} (spam score {e.Text("spamScore")}, symbols {e.Text("spamSymbols")})\npending:    {d.Text("pending")}\nnext:       {d.Text("nextAttempt")}");
        foreach (var a in d.GetProperty("attempts").EnumerateArray())
            foreach (var r in a.GetProperty("results").EnumerateArray())
                Console.WriteLine($"attempt {a.Text("attempt")} {a.Text("at")}: <{r.Text("recipient")}> {r.Text("status")} {r.Text("statusCode")} {r.Text("diagnostic")} relay={r.Text("remoteMta")} tls={r.Text("tls")} {TlsPolicy(r)} egress={r.Text("egress")}");
    }, id),
    QueueAction("retry", "Attempt delivery now"),
    QueueAction("hold", "No delivery attempts until released"),
    QueueAction("release", "Release a held message"),
    QueueAction("bounce", "Return the message to its sender with an NDR")));

// ---- delivery: destinations of a node ----
root.Subcommands.Add(Group("delivery", "Outgoing delivery on the node asked",
    Cmd("destinations", "Per pool and destination: connections, adaptive limit, queued, delivered, failures, pause, last error", async (node, _, json) =>
    {
        var agents = await node.GetAsync("api/delivery/destinations");
        if (json) { Output.Json(agents); return; }
        var rows = agents.EnumerateArray().SelectMany(a => a.GetProperty("destinations").EnumerateArray().Select(d => new[]
        {
            a.Text("pool"), d.Text("destination"), d.Text("active"), d.Text("limit"), d.Text("idle"), d.Text("queued"), d.Text("delivered"),
            d.Text("failed"), d.Text("pausedUntil"), d.Text("lastError"),
        })).ToArray();
        Output.Table(["POOL", "DESTINATION", "ACTIVE", "LIMIT", "IDLE", "QUEUED", "DELIVERED", "FAILED", "PAUSED UNTIL", "LAST ERROR"], rows);
        Console.WriteLine($"{rows.Length} destination(s) on {string.Join(", ", agents.EnumerateArray().Select(a => a.Text("node")).Distinct())}");
    })));

// ---- delivery log: the records of completed messages ----
/// <summary>The client as a Received line would name it: HELO name and address (the HELO is not known for older messages).</summary>
static string Client(JsonElement e) =>
    (e.TryGetProperty("clientHelo", out var helo) && helo.ValueKind == JsonValueKind.String ? helo.GetString() + " " : "") + $"[{e.Text("clientAddress")}]";

/// <summary>Which policy decided the recipient's TLS and whether the certificate verified, as the node's log line says it.</summary>
static string TlsPolicy(JsonElement r) => (r.Text("tls").Contains(" policy=") ? "" : $"policy={r.Text("policy") switch { "Static" => "static", "MtaSts" => "mta-sts", "Dane" => "dane", _ => "none" }} ") +
    $"verified={(r.TryGetProperty("certificateVerified", out var v) && v.ValueKind == JsonValueKind.True ? "yes" : "no")}";

static void PrintRecord(JsonElement r)
{
    Console.WriteLine($"tenant:     {r.Text("tenant")}\nfrom:       <{r.Text("sender")}>\nmessage-id: {r.Text("messageId")}");
    Console.WriteLine($"received:   {r.Text("receivedAt")} from {Client(r)}\ncompleted:  {r.Text("completedAt")} after {r.Text("attempts")} attempt(s)");
    Console.WriteLine($"size:       {r.Text("size")} octets\npool:       {r.Text("pool")} (spam score {r.Text("spamScore")})");
    foreach (var x in r.GetProperty("recipients").EnumerateArray())
        Console.WriteLine($"<{x.Text("recipient")}> {x.Text("status")} {x.Text("statusCode")} {x.Text("diagnostic")} relay={x.Text("relay")} tls={x.Text("tls")} {TlsPolicy(x)} egress={x.Text("egress")} attempt={x.Text("attempt")} at={x.Text("at")}");
}
var queueIdFilter = new Option<string?>("--queue-id") { Description = "This queue id" };
var messageIdFilter = new Option<string?>("--message-id") { Description = "This Message-ID (with or without <>)" };
var senderFilter = new Option<string?>("--sender") { Description = "This envelope sender" };
var recipientFilter = new Option<string?>("--recipient") { Description = "A message to this recipient" };
var logTenantFilter = new Option<string?>("--tenant") { Description = "This tenant's messages" };
var sinceFilter = new Option<DateTimeOffset?>("--since") { Description = "Completed at or after (ISO 8601, e.g. 2026-12-01T05:00:00Z)" };
var untilFilter = new Option<DateTimeOffset?>("--until") { Description = "Completed at or before (ISO 8601)" };
var logLimit = new Option<int>("--limit") { Description = "At most this many records, newest first", DefaultValueFactory = _ => 100 };
root.Subcommands.Add(Group("log", "Delivery records of completed messages (kept for gateway.retention.delivery-records)",
    Cmd("search", "Records by --queue-id, --message-id, --sender, --recipient, --tenant and --since/--until", async (node, parse, json) =>
    {
        var query = string.Join("&", new[] { ("queueId", parse.GetValue(queueIdFilter)), ("messageId", parse.GetValue(messageIdFilter)),
            ("sender", parse.GetValue(senderFilter)), ("recipient", parse.GetValue(recipientFilter)), ("tenant", parse.GetValue(logTenantFilter)),
            ("since", parse.GetValue(sinceFilter)?.ToString("O")), ("until", parse.GetValue(untilFilter)?.ToString("O")), ("limit", parse.GetValue(logLimit).ToString()) }
            .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
        var records = await node.GetAsync("api/log?" + query);
        if (json) { Output.Json(records); return; }
        var rows = records.EnumerateArray().ToArray();
        Output.Table(["COMPLETED", "QUEUE ID", "TENANT", "FROM", "MESSAGE-ID", "RECIPIENT", "STATUS", "REPLY"], rows.SelectMany(r =>
            r.GetProperty("recipients").EnumerateArray().Select(x => new[] { r.Text("completedAt"), r.Text("queueId"), r.Text("tenant"), r.Text("sender"),
                r.Text("messageId"), x.Text("recipient"), x.Text("status"), x.Text("diagnostic") })));
        Console.WriteLine($"{rows.Length} record(s)");
    }, queueIdFilter, messageIdFilter, senderFilter, recipientFilter, logTenantFilter, sinceFilter, untilFilter, logLimit)));

// ---- tenants ----
var tenantId = new Argument<string>("id") { Description = "Tenant id" };
var perMinute = new Option<int?>("--per-minute") { Description = "Limit to this many messages per minute" };
var off = new Option<bool>("--off") { Description = "No limit" };
var reset = new Option<bool>("--reset") { Description = "Back to the configured limit" };
void PrintTenants(IEnumerable<JsonElement> tenants) => Output.Table(["TENANT", "DOMAINS", "NETWORKS", "USERS", "LIMIT/MIN", "USED", "SET BY", "WEBHOOK"],
    tenants.Select(t => new[] { t.Text("id"), t.Text("domains"), t.Text("networks"), t.Text("users"), t.Text("rateLimit") == "-" ? "off" : t.Text("rateLimit"),
        t.Text("usedLastMinute"), t.Text("limitSource"), t.Text("webhook") }));
root.Subcommands.Add(Group("tenant", "Tenants and their rate limits",
    Cmd("list", "All tenants with their rate-limit state", async (node, _, json) =>
    {
        var rows = await node.GetAsync("api/tenants");
        if (json) Output.Json(rows); else PrintTenants(rows.EnumerateArray());
    }),
    Cmd("show", "One tenant with its rate-limit state", async (node, parse, json) =>
    {
        var t = await node.GetAsync($"api/tenants/{Uri.EscapeDataString(parse.GetValue(tenantId)!)}");
        if (json) Output.Json(t); else PrintTenants([t]);
    }, tenantId),
    Cmd("limit", "Set a tenant's limit for the whole cluster: --per-minute N, --off, or --reset", async (node, parse, json) =>
    {
        var query = parse.GetValue(reset) ? "reset=true" : parse.GetValue(off) ? "off=true"
            : parse.GetValue(perMinute) is { } n ? $"perMinute={n}" : throw new CliException("give --per-minute N, --off or --reset", 1);
        Done(await node.PostAsync($"api/tenants/{Uri.EscapeDataString(parse.GetValue(tenantId)!)}/limit?{query}"), json);
    }, tenantId, perMinute, off, reset)));

// ---- blacklists ----
root.Subcommands.Add(Group("blacklist", "DNS blacklist monitoring of the gateway's addresses",
    Cmd("status", "Watched addresses, current listings, last and next check", async (node, _, json) =>
    {
        var s = await node.GetAsync("api/blacklist");
        if (json) { Output.Json(s); return; }
        Console.WriteLine($"watched:    {s.Text("addresses")}\nlast check: {s.Text("lastSlot")}\nnext check: {s.Text("nextSlot")}");
        var current = s.GetProperty("current").EnumerateArray().ToArray();
        if (current.Length == 0) { Console.WriteLine("no address is listed"); return; }
        Output.Table(["ADDRESS", "ZONE", "CODE", "SINCE", "REASON"], current.Select(l => new[] { l.Text("address"), l.Text("zone"), l.Text("returnCode"), l.Text("at"), l.Text("reason") }));
    }),
    Cmd("check", "Check all addresses now", async (node, _, json) => Done(await node.PostAsync("api/blacklist/check"), json)),
    Cmd("history", "Every listing with its start and end", async (node, _, json) =>
    {
        var s = await node.GetAsync("api/blacklist");
        if (json) { Output.Json(s.GetProperty("history")); return; }
        Output.Table(["ADDRESS", "ZONE", "LISTED", "DELISTED", "REASON"], s.GetProperty("history").EnumerateArray()
            .Select(h => new[] { h.Text("address"), h.Text("zone"), h.Text("listedAt"), h.Text("delistedAt"), h.Text("reason") }));
    })));

// ---- health (for container health checks and monitoring scripts) ----
var health = new Command("health", "Whether the node is ready for mail (GET /health/ready): exit 0 ready, 1 not ready, 2 unreachable");
health.SetAction(async (parse, ct) =>
{
    var node = parse.GetValue(nodeOption)!;
    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
    try
    {
        using var response = await http.GetAsync(new Uri(new Uri(node.EndsWith('/') ? node : node + "/"), "health/ready"), ct);
        Console.Write(await response.Content.ReadAsStringAsync(ct));
        return response.IsSuccessStatusCode ? 0 : 1;
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
    {
        Console.Error.WriteLine($"actorgw: {node} cannot be reached: {e.Message}");
        return 2;
    }
});
root.Subcommands.Add(health);

return await root.Parse(args).InvokeAsync();
