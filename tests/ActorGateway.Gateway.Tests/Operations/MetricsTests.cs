using ActorGateway.Gateway.Tests.Support;

namespace ActorGateway.Gateway.Tests.Operations;

/// <summary>/metrics of a real node after one relayed message: the gateway's counters and histograms next to the runtime's metrics.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task One_message_shows_in_counters_histograms_and_the_runtime_metrics()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        var sent = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30));

        using var http = new HttpClient();
        var metrics = "";
        await Eventually.WaitAsync(async () =>
            (metrics = await http.GetStringAsync($"http://127.0.0.1:{bed.OperationsPort}/metrics"))
                .Contains("actorgateway_delivery_seconds_count{pool=\"good\",status=\"delivered\"} 1"),
            TimeSpan.FromSeconds(15), () => metrics);
        foreach (var expected in new[]
                 {
                     "actorgateway_accepted_total{tenant=\"local\"} 1",
                     "actorgateway_accept_seconds_count{result=\"accepted\"} 1",
                     "actorgateway_scan_seconds_count{scanner=\"antivirus\"} 1",
                     "actorgateway_scan_seconds_count{scanner=\"antispam\"} 1",
                     "actorgateway_delivery_results_total{pool=\"good\",status=\"delivered\",tenant=\"local\"} 1",
                     "actorgateway_destination_results_total{pool=\"good\",destination=\"rcpt.example\",result=\"delivered\"} 1",
                     "actorgateway_cluster_members{status=\"Up\"} 1",
                     "# TYPE actorgateway_accept_seconds histogram",
                     "process_cpu_seconds_total",
                     "dotnet_total_memory_bytes",
                 })
            Assert.True(metrics.Contains(expected), $"missing: {expected}\n{metrics}");
    }
}
