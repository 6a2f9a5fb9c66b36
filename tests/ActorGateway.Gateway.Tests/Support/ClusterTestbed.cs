using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>
/// The three-site cluster as three real node processes on 127.0.0.1, 127.0.0.2 and 127.0.0.3,
/// each started with the shipped cluster.conf and its site's file (eu-de-01/02/03), sharing
/// one real PostgreSQL, with dnsmasq publishing the test domains and one aiosmtpd receiver
/// behind every MX that records the source address each message came from. Only ports,
/// storage, DNS and timings are overridden. Tenant "local": clients from 127.0.0.1 sending as
/// sender.example; tenant "limited": from 127.0.0.4 as limited.example, rate limit on.
/// </summary>
public sealed class ClusterTestbed : IAsyncDisposable
{
    public const int Nodes = 3;
    public const int RateLimitPerMinute = 100;
    /// <summary>Clients of tenant "limited" connect from this address.</summary>
    public const string LimitedClientAddress = "127.0.0.4";
    /// <summary>A client of tenant "limited" (it sends as app@limited.example).</summary>
    public static MailKit.Net.Smtp.SmtpClient LimitedClient() =>
        new() { LocalEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(LimitedClientAddress), 0) };

    public PostgresServer Postgres { get; private set; } = null!;
    public Dnsmasq Dns { get; private set; } = null!;
    public TestMailReceiver Receiver { get; private set; } = null!;
    public TempDirectory Dir { get; } = new();
    public int DeliveryPort { get; } = FreePort.Next();
    readonly int[] _remotingPorts = Enumerable.Range(0, Nodes).Select(_ => FreePort.Next()).ToArray();
    readonly int[] _smtpPorts = Enumerable.Range(0, Nodes).Select(_ => FreePort.Next()).ToArray();
    readonly int[] _operationsPorts = Enumerable.Range(0, Nodes).Select(_ => FreePort.Next()).ToArray();
    public const string OperationsToken = "cluster-operations-token", ReadToken = "cluster-read-token";
    /// <summary>The operations endpoint of node i.</summary>
    public string OperationsUrl(int node) => $"http://{Address(node)}:{_operationsPorts[node]}";
    readonly GatewayProcess?[] _nodes = new GatewayProcess?[Nodes];
    /// <summary>Node i's /health/ready answer: its status code and text.</summary>
    public Task<(int Status, string Text)> ReadinessAsync(int node) => NodeHealth.ReadinessAsync(OperationsUrl(node));
    /// <summary>Node i's /metrics text.</summary>
    public Task<string> MetricsAsync(int node) => NodeHealth.MetricsAsync(OperationsUrl(node));

    /// <summary>Node i (0..2) is site eu-de-0{i+1} on 127.0.0.{i+1}.</summary>
    public static string Address(int node) => $"127.0.0.{node + 1}";
    public static string Site(int node) => $"eu-de-0{node + 1}";
    public int SmtpPort(int node) => _smtpPorts[node];
    public string ClusterAddress(int node) => $"akka.tcp://actorgateway@{Address(node)}:{_remotingPorts[node]}";
    public GatewayProcess Node(int node) => _nodes[node] ?? throw new InvalidOperationException($"node {node} is not started");

    /// <summary>
    /// Mail to held.example goes to <see cref="HeldPort"/>, where nothing listens until
    /// <see cref="StartHeldReceiverAsync"/>: it stays queued (deferred) until then.
    /// </summary>
    public int HeldPort { get; } = FreePort.Next();
    public TestMailReceiver? HeldReceiver { get; private set; }

    public async Task StartHeldReceiverAsync() => HeldReceiver = await TestMailReceiver.StartAsync(port: HeldPort);

    static readonly string[] BaseRecords = [
        "mx-host=sender.example,mail.sender.example,10", "host-record=mail.sender.example,127.0.0.1",
        "mx-host=limited.example,mail.limited.example,10", "host-record=mail.limited.example,127.0.0.1",
        "mx-host=rcpt.example,mx.rcpt.example,10", "host-record=mx.rcpt.example,127.0.0.1",
        "mx-host=other.example,mx.other.example,10", "host-record=mx.other.example,127.0.0.1",
    ];

    /// <summary>Starts the three nodes; <paramref name="extraHocon"/> goes to every node, <paramref name="extraDns"/> to dnsmasq.</summary>
    public static async Task<ClusterTestbed> StartAsync(bool startReceiver = true, string extraHocon = "", IEnumerable<string>? extraDns = null)
    {
        var bed = new ClusterTestbed();
        bed.Postgres = await PostgresServer.StartAsync();
        bed.Dns = await Dnsmasq.StartAsync([.. BaseRecords, .. extraDns ?? []]);
        if (startReceiver) await bed.StartReceiverAsync();
        await File.WriteAllTextAsync(bed.Dir.File("common.conf"), $$"""
            akka.cluster.seed-nodes = [{{string.Join(", ", Enumerable.Range(0, Nodes).Select(i => $"\"{bed.ClusterAddress(i)}\""))}}]
            gateway {
              storage.connection-string = "{{bed.Postgres.ConnectionString()}}"
              smtp { command-timeout = 30s, store-timeout = 15s }
              dns { servers = ["{{bed.Dns.Endpoint}}"], timeout = 1s }
              delivery {
                port = {{bed.DeliveryPort}}
                retry-delays = [1s, 2s, 2s]
                connect-timeout = 3s
                command-timeout = 10s
                idle-connection-timeout = 2s
                # Short like the other timeouts here: a delivery routed to a node killed by a test is given up after this plus 33 s.
                queue-wait = 10s
                # Short like the retry delays: a destination that refused connections (held.example) is
                # tried again within seconds once its receiver is up.
                destination.pause = 5s
                routes { "held.example" = "127.0.0.1:{{bed.HeldPort}}" }
              }
              pools.wait-interval = 1s
              queue.sweep-interval = 1s
              tenants {
                local { networks = ["127.0.0.1/32"], domains = ["sender.example"] }
                limited {
                  networks = ["{{LimitedClientAddress}}/32"]
                  domains = ["limited.example"]
                  rate-limit { enabled = on, per-minute = {{RateLimitPerMinute}} }
                }
              }
            }
            {{extraHocon}}
            """);
        await File.WriteAllTextAsync(bed.Dir.File("ops-token"), OperationsToken + "\n");
        await File.WriteAllTextAsync(bed.Dir.File("read-token"), ReadToken + "\n");
        for (var i = 0; i < Nodes; i++)
            await File.WriteAllTextAsync(bed.Dir.File($"node{i}.conf"), $$"""
                akka.remote.dot-netty.tcp.port = {{bed._remotingPorts[i]}}
                gateway {
                  data-dir = "{{bed.Dir.File(Site(i))}}"
                  operations { address = "{{Address(i)}}", port = {{bed._operationsPorts[i]}}, token-file = "{{bed.Dir.File("ops-token")}}",
                                read-token-file = "{{bed.Dir.File("read-token")}}" }
                  smtp.endpoints = [ { name = smtp, address = "{{Address(i)}}", port = {{bed._smtpPorts[i]}} } ]
                }
                """);
        // The first site forms the cluster (and creates the tables); the others join it.
        await bed.StartNodeAsync(0);
        await Task.WhenAll(bed.StartNodeAsync(1), bed.StartNodeAsync(2));
        return bed;
    }

    /// <summary>DNS answers change: dnsmasq restarts on the same port with the base records plus these.</summary>
    public async Task RepublishDnsAsync(IEnumerable<string> extraDns)
    {
        var port = Dns.Port;
        await Dns.DisposeAsync();
        Dns = await Dnsmasq.StartAsync([.. BaseRecords, .. extraDns], port);
    }

    public async Task StartReceiverAsync() => Receiver = await TestMailReceiver.StartAsync(port: DeliveryPort);

    /// <summary>Starts (or restarts, after a kill) node i on its site's files; returns when it is an Up member.</summary>
    public async Task StartNodeAsync(int node)
    {
        if (_nodes[node] is { } old) await old.DisposeAsync();
        var process = new GatewayProcess(GatewayProcess.ShippedConfig("cluster.conf"), GatewayProcess.ShippedConfig(Site(node) + ".conf"),
            Dir.File("common.conf"), Dir.File($"node{node}.conf"));
        _nodes[node] = process;
        await process.StartAsync(_smtpPorts[node], TimeSpan.FromSeconds(90), Address(node), _operationsPorts[node]);
    }

    public Task KillNodeAsync(int node) => Node(node).KillAsync();

    /// <summary>Waits until every pattern is in the log of some node (a message's entity may run on any of them).</summary>
    public async Task WaitForLogOnAnyAsync(TimeSpan timeout, params string[] patterns)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var missing = patterns.Where(p => !_nodes.Any(n => n is not null && System.Text.RegularExpressions.Regex.IsMatch(n.Output, p))).ToArray();
            if (missing.Length == 0) return;
            if (DateTime.UtcNow > until) throw new TimeoutException("no node logged: " + string.Join(", ", missing) + "\n" + Logs());
            await Task.Delay(200);
        }
    }

    /// <summary>All running nodes' logs, for failure messages.</summary>
    public string Logs() => string.Join("\n", Enumerable.Range(0, Nodes).Where(i => _nodes[i] is not null)
        .Select(i => $"===== {Site(i)} =====\n{_nodes[i]!.Output}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var n in _nodes) if (n is not null) await n.DisposeAsync();
        if (Receiver is not null) await Receiver.DisposeAsync();
        if (HeldReceiver is not null) await HeldReceiver.DisposeAsync();
        if (Dns is not null) await Dns.DisposeAsync();
        if (Postgres is not null) await Postgres.DisposeAsync();
        Dir.Dispose();
    }
}
