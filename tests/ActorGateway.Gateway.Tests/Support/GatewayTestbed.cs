using ActorGateway.Mail.Tenants;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>
/// One gateway node as a real process, with a real DNS server (dnsmasq) publishing the test
/// domains and a real receiving MTA (aiosmtpd) behind every MX. Tenants:
/// "local" = clients from 127.0.0.1 sending as sender.example / arecord.example;
/// "authed" = SMTP AUTH user "app" (password "s3cret") sending as authed.example.
/// </summary>
public sealed class GatewayTestbed : IAsyncDisposable
{
    public const string AuthUser = "app", AuthPassword = "s3cret";
    /// <summary>Egress addresses of the pools: the receiver sees which one a message came from.</summary>
    public const string GoodAddress = "127.0.0.2", BadAddress = "127.0.0.3";

    public Dnsmasq Dns { get; private set; } = null!;
    public TestMailReceiver Receiver { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;
    public TestCertificate Certificate { get; } = new();
    public TempDirectory Dir { get; } = new();
    public int SmtpPort { get; private set; }
    /// <summary>A second listener on ::1 (0 unless started with ipv6).</summary>
    public int SmtpPort6 { get; private set; }
    public int DeliveryPort { get; private set; }
    /// <summary>The node's operations endpoint (HTTP on 127.0.0.1); changes need <see cref="OperationsToken"/>, reads <see cref="ReadToken"/> (or the operations token).</summary>
    public int OperationsPort { get; } = FreePort.Next();
    public const string OperationsToken = "test-operations-token", ReadToken = "test-read-token";
    /// <summary>actorgw arguments that read from this node: the command, then the node and the read token.</summary>
    public string[] Reading(params string[] args) => [.. args, "--node", $"http://127.0.0.1:{OperationsPort}", "--token", ReadToken];
    public string DataDir => Dir.File("data");
    string ConfigFile => Dir.File("test.conf");

    /// <summary>
    /// Starts DNS, the receiver (unless <paramref name="startReceiver"/> is false: then nothing
    /// listens on the MX port until <see cref="StartReceiverAsync"/>), and the gateway.
    /// </summary>
    public static async Task<GatewayTestbed> StartAsync(bool startReceiver = true, string? dnsServerOverride = null, string extraHocon = "",
        bool receiverTls = false, IEnumerable<string>? extraDns = null, bool ipv6 = false)
    {
        var bed = new GatewayTestbed { _receiverTls = receiverTls };
        if (ipv6) bed.SmtpPort6 = FreePort.Next("::1");
        bed.Dns = await Dnsmasq.StartAsync([.. BaseDns, .. extraDns ?? []]);
        bed.SmtpPort = FreePort.Next();
        bed.DeliveryPort = FreePort.Next();
        if (startReceiver) await bed.StartReceiverAsync();
        await File.WriteAllTextAsync(bed.Dir.File("ops-token"), OperationsToken);
        await File.WriteAllTextAsync(bed.Dir.File("read-token"), ReadToken);
        await File.WriteAllTextAsync(bed.ConfigFile, $$"""
            gateway {
              data-dir = "{{bed.DataDir}}"
              smtp {
                server-name = "gw.test"
                command-timeout = 30s
                endpoints = [ { name = smtp, address = "127.0.0.1", port = {{bed.SmtpPort}},
                                certificate = "{{bed.Certificate.CertificatePath}}", key = "{{bed.Certificate.KeyPath}}" }
                             {{(ipv6 ? $"{{ name = smtp6, address = \"::1\", port = {bed.SmtpPort6}, certificate = \"{bed.Certificate.CertificatePath}\", key = \"{bed.Certificate.KeyPath}\" }}" : "")}} ]
              }
              dns { servers = ["{{dnsServerOverride ?? bed.Dns.Endpoint}}"], timeout = 1s }
              delivery {
                port = {{bed.DeliveryPort}}
                retry-delays = [1s, 2s, 2s]
                connect-timeout = 5s
                idle-connection-timeout = 2s
              }
              queue.sweep-interval = 1s
              operations { port = {{bed.OperationsPort}}, token-file = "{{bed.Dir.File("ops-token")}}", read-token-file = "{{bed.Dir.File("read-token")}}" }
              pools { good.source-address = "{{GoodAddress}}", bad.source-address = "{{BadAddress}}" }
              tenants {
                local { networks = ["127.0.0.1/32"], domains = ["sender.example", "arecord.example", "nothing.example", "nullmx.example"] }
                authed {
                  users { "{{AuthUser}}" = "{{PasswordHash.Create(AuthPassword, 1000)}}" }
                  domains = ["authed.example"]
                }
              }
            }
            {{extraHocon}}
            """);
        bed.Gateway = new GatewayProcess(bed.ConfigFile);
        await bed.Gateway.StartAsync(bed.SmtpPort, operationsPort: bed.OperationsPort);
        return bed;
    }

    bool _receiverTls;

    static readonly string[] BaseDns =
    [
        "mx-host=sender.example,mail.sender.example,10", "host-record=mail.sender.example,127.0.0.1",
        "mx-host=authed.example,mail.authed.example,10", "host-record=mail.authed.example,127.0.0.1",
        "host-record=arecord.example,127.0.0.1",
        "mx-host=rcpt.example,mx.rcpt.example,10", "host-record=mx.rcpt.example,127.0.0.1",
        "mx-host=other.example,mx.other.example,10", "host-record=mx.other.example,127.0.0.1",
        "mx-host=nullmx.example,.,0",
    ];

    /// <summary>Publishes other records under the same DNS server address (the test domains plus <paramref name="extraDns"/>).</summary>
    public async Task RepublishDnsAsync(IEnumerable<string> extraDns)
    {
        var port = Dns.Port;
        await Dns.DisposeAsync();
        Dns = await Dnsmasq.StartAsync([.. BaseDns, .. extraDns], port);
    }

    /// <summary>
    /// What the operations API says about a message (read token): its envelope and attempts while
    /// queued, or its delivery record once done.
    /// </summary>
    public Task<System.Text.Json.JsonElement> MessageAsync(string queueId) => ReadApiAsync($"api/queue/{Uri.EscapeDataString(queueId)}");

    /// <summary>A GET of the operations API with the read token, e.g. "api/delivery/destinations".</summary>
    public async Task<System.Text.Json.JsonElement> ReadApiAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{OperationsPort}/{path}");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ReadToken);
        using var response = await Http.SendAsync(request);
        return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>
    /// A recipient's latest answer as the API shows it: from the delivery record once the message is
    /// done (the log search), else from the last attempt of the queued message that names it; or null.
    /// </summary>
    public async Task<System.Text.Json.JsonElement?> RecipientResultAsync(string queueId, string recipient)
    {
        var records = await ReadApiAsync($"api/log?queueId={Uri.EscapeDataString(queueId)}");
        var message = records.GetArrayLength() > 0 ? default : await MessageAsync(queueId);
        var results = records.GetArrayLength() > 0 ? records[0].GetProperty("recipients").EnumerateArray()
            : message.TryGetProperty("attempts", out var attempts) ? attempts.EnumerateArray().SelectMany(a => a.GetProperty("results").EnumerateArray())
            : [];
        return results.LastOrDefault(r => r.GetProperty("recipient").GetString() == recipient) is { ValueKind: System.Text.Json.JsonValueKind.Object } found
            ? found : null;
    }
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    string OperationsUrl => $"http://127.0.0.1:{OperationsPort}";

    /// <summary>The node's /health/ready answer: its status code and text.</summary>
    public Task<(int Status, string Text)> ReadinessAsync() => NodeHealth.ReadinessAsync(OperationsUrl);

    /// <summary>The node's /metrics text (the queue gauges come from the queue sweeper: empty while it does not answer).</summary>
    public Task<string> MetricsAsync() => NodeHealth.MetricsAsync(OperationsUrl);

    /// <param name="certificate">The receiver's own certificate for STARTTLS (default: the testbed's, if started with receiverTls).</param>
    public async Task StartReceiverAsync(TestCertificate? certificate = null) =>
        Receiver = await TestMailReceiver.StartAsync(port: DeliveryPort, tls: certificate ?? (_receiverTls ? Certificate : null));

    /// <summary>The node's view of one message (GET /api/queue/ID with the read token): the queue entry, or its delivery record once done.</summary>
    public async Task<string> MessageJsonAsync(string queueId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{OperationsPort}/api/queue/{queueId}");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ReadToken);
        using var response = await Http.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Adds HOCON that overrides the configuration from the next (re)start on.</summary>
    public Task AppendConfigAsync(string hocon) => File.AppendAllTextAsync(ConfigFile, "\n" + hocon + "\n");

    /// <summary>A new process on the same configuration and data directory (after a kill).</summary>
    public async Task RestartGatewayAsync()
    {
        await Gateway.DisposeAsync();
        Gateway = new GatewayProcess(ConfigFile);
        await Gateway.StartAsync(SmtpPort, operationsPort: OperationsPort);
    }

    public async ValueTask DisposeAsync()
    {
        if (Gateway is not null) await Gateway.DisposeAsync();
        if (Receiver is not null) await Receiver.DisposeAsync();
        if (Dns is not null) await Dns.DisposeAsync();
        Certificate.Dispose();
        Dir.Dispose();
    }
}
