using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MailKit.Net.Smtp;

namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>The actorgw command line (a real process) against the operations endpoints of the three-node cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class OperationsTests
{
    [Fact]
    public async Task Actorgw_inspects_the_cluster_controls_the_queue_and_limits_a_tenant_at_run_time()
    {
        await using var bed = await ClusterTestbed.StartAsync();
        var node = bed.OperationsUrl(1);
        // Reading with the read token, changing with the operations token.
        string[] On(params string[] args) => [.. args, "--node", node, "--token", ClusterTestbed.ReadToken];
        string[] Changing(params string[] args) => [.. args, "--node", node, "--token", ClusterTestbed.OperationsToken];

        // cluster palette
        // Each node sees the others come up a moment apart: wait until this one sees all three.
        var show = await Actorgw.RunAsync(On("cluster", "show"));
        for (var upUntil = DateTime.UtcNow.AddSeconds(15); !show.StandardOutput.Contains("3 up, 0 unreachable") && DateTime.UtcNow < upUntil;)
        {
            await Task.Delay(250);
            show = await Actorgw.RunAsync(On("cluster", "show"));
        }
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("3 member(s), 3 up, 0 unreachable", show.StandardOutput);
        Assert.Contains($"{bed.ClusterAddress(1)} (this node)", show.StandardOutput);
        Assert.Contains("bad-gateway", show.StandardOutput);
        var singletons = await Actorgw.RunAsync(On("cluster", "singletons"));
        Assert.Contains($"queue-sweeper", singletons.StandardOutput);
        Assert.Contains(bed.ClusterAddress(0), singletons.StandardOutput); // the oldest member
        var leader = await Actorgw.RunAsync(On("cluster", "leader", "--json"));
        Assert.Contains("\"leader\": \"akka.tcp://actorgateway@", leader.StandardOutput);

        // queue palette, on mail that stays queued (its next hop refuses connections)
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync(ClusterTestbed.Address(0), bed.SmtpPort(0), MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 2; i++)
                Assert.Equal("250", await client.TrySendAsync(ClusterMail.Message($"ops-{i}@test", "alice@sender.example", $"ops{i}@held.example")));
        }
        await bed.WaitForLogOnAnyAsync(TimeSpan.FromSeconds(30), "to=<ops0@held.example> status=deferred", "to=<ops1@held.example> status=deferred");
        // The queue's view is the sweeper's, which reads the journal once per sweep interval.
        var list = await Actorgw.RunAsync(On("queue", "list", "--destination", "held.example"));
        for (var listUntil = DateTime.UtcNow.AddSeconds(15); !list.StandardOutput.Contains("2 shown of 2 queued") && DateTime.UtcNow < listUntil;)
        {
            await Task.Delay(500);
            list = await Actorgw.RunAsync(On("queue", "list", "--destination", "held.example"));
        }
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains("2 shown of 2 queued", list.StandardOutput);
        var ids = System.Text.RegularExpressions.Regex.Matches(list.StandardOutput, @"^([0-9A-Z]{16})\s", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(2, ids.Length);
        var details = await Actorgw.RunAsync(On("queue", "show", ids[0]));
        Assert.Contains("tenant:     local", details.StandardOutput);
        Assert.Matches(@"attempt 1 .*Deferred 4\.4\.1 .*Connection refused", details.StandardOutput);

        var refused = await Actorgw.RunAsync("queue", "hold", ids[0], "--node", node); // no token
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("a valid operations token is required", refused.StandardError);
        var readOnly = await Actorgw.RunAsync(On("queue", "hold", ids[0]));
        Assert.Equal(1, readOnly.ExitCode);
        Assert.Contains("the read token may only read", readOnly.StandardError);
        Assert.Contains("held: no delivery attempts until released", (await Actorgw.RunAsync(Changing("queue", "hold", ids[0]))).StandardOutput);
        Assert.Contains("state:      held", (await Actorgw.RunAsync(On("queue", "show", ids[0]))).StandardOutput);
        Assert.Contains("released", (await Actorgw.RunAsync(Changing("queue", "release", ids[0]))).StandardOutput);
        // The message is retried every few seconds; while an attempt runs, a bounce is refused with
        // "try again in a moment", as an operator would be told.
        var bounce = await Actorgw.RunAsync(Changing("queue", "bounce", ids[1]));
        for (var bounceUntil = DateTime.UtcNow.AddSeconds(10); bounce.StandardError.Contains("an attempt is running") && DateTime.UtcNow < bounceUntil;)
        {
            await Task.Delay(200);
            bounce = await Actorgw.RunAsync(Changing("queue", "bounce", ids[1]));
        }
        Assert.True(bounce.StandardOutput.Contains("1 recipient(s) bounced"), bounce.ToString());
        // The NDR for the bounced message reaches the sender's MX (the receiver).
        var ndr = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("alice@sender.example")));
        Assert.Contains("returned to the sender by the gateway's operator", ndr.Text);

        // tenant palette: a limit set at run time holds for the whole cluster
        Assert.Contains("limited: 2 per minute", (await Actorgw.RunAsync(Changing("tenant", "limit", "limited", "--per-minute", "2"))).StandardOutput);
        Assert.Contains("local: no limit", (await Actorgw.RunAsync(Changing("tenant", "limit", "local", "--off"))).StandardOutput);
        // Replicated to a majority when the command returns, to the rest by gossip: wait until
        // the node the mail goes to has it, as an operator would check with `tenant show`.
        string[] OnNode2(params string[] args) => [.. args, "--node", bed.OperationsUrl(2), "--json", "--token", ClusterTestbed.ReadToken];
        var seen = await Actorgw.RunAsync(OnNode2("tenant", "show", "limited"));
        for (var limitUntil = DateTime.UtcNow.AddSeconds(15); !seen.StandardOutput.Contains("\"rateLimit\": 2") && DateTime.UtcNow < limitUntil;)
        {
            await Task.Delay(250);
            seen = await Actorgw.RunAsync(OnNode2("tenant", "show", "limited"));
        }
        Assert.True(seen.StandardOutput.Contains("\"rateLimit\": 2"), $"node 2 does not have the limit:\n{seen}\n{bed.Logs()}");
        var outcomes = new List<string>();
        using (var limitedClient = ClusterTestbed.LimitedClient())
        {
            await limitedClient.ConnectAsync(ClusterTestbed.Address(2), bed.SmtpPort(2), MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 3; i++) outcomes.Add(await limitedClient.TrySendAsync(ClusterMail.Message($"lim-{i}@test", "app@limited.example", $"lim{i}@rcpt.example")));
        }
        Assert.Equal(["250", "250", "451 4.7.1 Ratelimit reached"], outcomes);
        var tenant = await Actorgw.RunAsync(On("tenant", "show", "limited"));
        Assert.Matches(@"limited\s+limited\.example\s+127\.0\.0\.4/32\s+-\s+2\s+2\s+operations", tenant.StandardOutput);
        Assert.Contains("limited: limit as configured", (await Actorgw.RunAsync(Changing("tenant", "limit", "limited", "--reset"))).StandardOutput);

        // sharding, blacklists, health and metrics
        var stats = await Actorgw.RunAsync(On("cluster-sharding", "region-stats"));
        Assert.Contains("message", stats.StandardOutput);
        Assert.Contains("ratelimit", stats.StandardOutput);
        Assert.Contains("no address is listed", (await Actorgw.RunAsync(On("blacklist", "status"))).StandardOutput);
        using var http = new HttpClient();
        Assert.Equal("ready\n", await http.GetStringAsync(node + "/health/ready"));
        var metrics = await http.GetStringAsync(bed.OperationsUrl(2) + "/metrics");
        Assert.Contains("actorgateway_accepted_total{tenant=\"limited\"} 2", metrics);
        Assert.Contains("actorgateway_rejected_total{reason=\"rate-limit\"} 1", metrics);
        Assert.Contains("actorgateway_cluster_members{status=\"Up\"} 3", metrics);
        // The released held message is still queued: the queue is not empty and has an age.
        var age = System.Text.RegularExpressions.Regex.Match(metrics, @"actorgateway_queue_oldest_message_age_seconds ([0-9.]+)");
        Assert.True(age.Success && double.Parse(age.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, metrics);
        Assert.Matches(@"actorgateway_queue_messages [1-9]", metrics);
        Assert.Contains("actorgateway_delivery_results_total{pool=\"good\",status=\"deferred\",tenant=\"local\"}", metrics + await http.GetStringAsync(bed.OperationsUrl(0) + "/metrics") + await http.GetStringAsync(bed.OperationsUrl(1) + "/metrics"));

        // cluster tail sees a member leave gracefully; cluster show then counts two
        await using var tail = Actorgw.Start(On("cluster", "tail"));
        await Task.Delay(2000);
        Assert.Contains("is leaving the cluster", (await Actorgw.RunAsync(Changing("cluster", "leave", bed.ClusterAddress(2)))).StandardOutput);
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!tail.StandardOutput.Contains($"MemberRemoved {bed.ClusterAddress(2)}") && DateTime.UtcNow < until) await Task.Delay(200);
        Assert.Contains($"MemberLeft {bed.ClusterAddress(2)}", tail.StandardOutput);
        Assert.Contains($"MemberRemoved {bed.ClusterAddress(2)}", tail.StandardOutput);
        Assert.Contains("2 member(s), 2 up", (await Actorgw.RunAsync(On("cluster", "show"))).StandardOutput);

        // a node that cannot be reached is a clear error
        var unreachable = await Actorgw.RunAsync("cluster", "show", "--node", $"http://127.0.0.1:{FreePort.Next()}");
        Assert.Equal(2, unreachable.ExitCode);
        Assert.Contains("cannot reach the node at", unreachable.StandardError);
    }
}
