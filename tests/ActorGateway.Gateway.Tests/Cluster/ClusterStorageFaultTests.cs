using ActorGateway.Gateway.Tests.Support;
using Xunit.Abstractions;

namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>
/// The database the three nodes share stops under load and returns: meanwhile every node says
/// it is not ready and every client hears 451 4.3.0; afterwards every node is ready again by
/// itself, the sharded entities and singletons work again, and every 250 arrives once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterStorageFaultTests(ITestOutputHelper output)
{
    /// <summary>Longer than the journal's circuit breaker stays open (5 s), so that it opens and half-opens more than once.</summary>
    static readonly TimeSpan Outage = TimeSpan.FromSeconds(12);
    static readonly int[] AllNodes = Enumerable.Range(0, ClusterTestbed.Nodes).ToArray();

    [Fact]
    public async Task PostgreSQL_stopped_under_load_into_three_nodes_refuses_with_451_everywhere_and_the_cluster_recovers_without_losing_or_repeating_mail()
    {
        await using var bed = await ClusterTestbed.StartAsync();
        // Mail that stays queued through the outage (its next hop refuses connections until the end):
        // its entities retry while the database is down, on every node.
        var held = new List<string>();
        foreach (var n in AllNodes)
            for (var i = 0; i < 3; i++)
            {
                var id = $"held-{n}-{i}";
                Assert.Equal("250", await SendAsync(bed, n, id, "alice@sender.example", $"{id}@held.example"));
                held.Add(id + "@test");
            }
        await using var load = MailLoad.Start(AllNodes.Select(n => (ClusterTestbed.Address(n), bed.SmtpPort(n))).ToArray(), clients: 2, prefix: "pg");
        int Answered(int node, Func<MailLoad.Sent, bool> where, DateTime since) => load.Count(s => s.MessageId.StartsWith($"pg-{node}-") && where(s), since);
        string Report(string what) => $"{what}\n{StorageFaultChecks.Answers(load)}\n{bed.Logs()}";
        await Eventually.WaitAsync(() => AllNodes.All(n => Answered(n, s => s.Reply == "250", DateTime.MinValue) >= 5), TimeSpan.FromSeconds(30),
            () => Report("no steady load into every node"));

        await bed.Postgres.StopAsync();
        var down = DateTime.UtcNow;
        await Eventually.WaitAsync(async () => (await ReadinessAsync(bed)).All(r => r.Status == 503), TimeSpan.FromSeconds(20),
            () => Report("not every node is not ready with the database stopped"));
        var notReady = DateTime.UtcNow;
        await Eventually.WaitAsync(() => AllNodes.All(n => Answered(n, s => s.Reply != "250", down) > 0), TimeSpan.FromSeconds(30),
            () => Report("not every node refused mail with the database stopped"));
        // A client of the rate-limited tenant in the outage: its limiter (a persistent entity) fails its write or recovery.
        var limitedInOutage = await SendLimitedAsync(bed, 1, "limited-outage");
        Assert.True(limitedInOutage.StartsWith("451 4.3.0 "), Report($"the rate-limited tenant was answered {limitedInOutage} in the outage"));

        // The held mail's receiver comes up: what its entities attempt now is delivered but cannot be journaled.
        await bed.StartHeldReceiverAsync();

        // The outage lasts; every node stays not ready all through it.
        while (DateTime.UtcNow < down + Outage)
        {
            var readiness = await ReadinessAsync(bed);
            Assert.True(readiness.All(r => r.Status == 503), Report("a node was ready during the outage: " + string.Join(" | ", readiness.Select(r => r.Text.Trim()))));
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }

        await bed.Postgres.RestartAsync();
        var back = DateTime.UtcNow;
        var readyAfter = new double[ClusterTestbed.Nodes];
        await Eventually.WaitAsync(async () =>
        {
            var readiness = await ReadinessAsync(bed);
            for (var n = 0; n < ClusterTestbed.Nodes; n++)
                if (readiness[n].Status == 200 && readyAfter[n] == 0) readyAfter[n] = (DateTime.UtcNow - back).TotalSeconds;
            return readyAfter.All(s => s > 0);
        }, TimeSpan.FromSeconds(40), () => Report("not every node is ready again after the database returned: " +
                                                  string.Join(" | ", ReadinessAsync(bed).GetAwaiter().GetResult().Select(r => r.Text.Trim()))));
        await Eventually.WaitAsync(() => AllNodes.All(n => Answered(n, s => s.Reply == "250", back) >= 5), TimeSpan.FromSeconds(30),
            () => Report("not every node accepts mail again after the database returned"));
        await load.StopAsync();
        // The held mail's entities, stopped by their failed writes, are woken by the queue sweeper once it reads the journal again.
        var heldMissing = await ClusterMail.WaitForIdsAsync(bed.HeldReceiver!, held, TimeSpan.FromSeconds(30));
        Assert.True(heldMissing.Count == 0, Report("held mail not delivered: " + string.Join(", ", heldMissing)));
        var heldAfter = (DateTime.UtcNow - back).TotalSeconds;

        StorageFaultChecks.Summary(output, load, down, back);
        output.WriteLine($"all nodes not ready {(notReady - down).TotalSeconds:0.0} s after the stop; ready again after the restart: " +
                         string.Join(", ", AllNodes.Select(n => $"{ClusterTestbed.Site(n)} {readyAfter[n]:0.0} s")) +
                         $"; held mail delivered {heldAfter:0.0} s after the restart");
        StorageFaultChecks.AssertRefusedOnlyWith451(load, () => Report(""));

        // The sharded rate limiter counts again, the blacklist monitor (a singleton) answers.
        var limited = new List<string>();
        foreach (var n in AllNodes)
        {
            var id = $"limited-after-{n}";
            Assert.Equal("250", await SendLimitedAsync(bed, n, id));
            limited.Add(id + "@test");
        }
        var status = await ActorGateway.Testing.Actorgw.RunAsync("blacklist", "status", "--node", bed.OperationsUrl(2), "--token", ClusterTestbed.ReadToken);
        Assert.True(status.ExitCode == 0 && status.StandardOutput.Contains("no address is listed"), Report($"blacklist monitor: {status}"));

        // Every 250 (before, during, after the outage) arrives exactly once; the queue sweeper (a singleton) sees the queue empty.
        output.WriteLine($"delivered twice: {ClusterMail.Duplicates(bed.Receiver, load.Accepted.Concat(limited)).Count} of {load.Accepted.Count + limited.Count}, " +
                         $"held mail {ClusterMail.Duplicates(bed.HeldReceiver!, held).Count} of {held.Count}");
        await StorageFaultChecks.AssertAcceptedDeliveredOnceAsync(bed.Receiver, load, TimeSpan.FromSeconds(60), () => Report(""));
        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, limited, TimeSpan.FromSeconds(30)));
        await StorageFaultChecks.AssertQueueSweptAsync(() => bed.MetricsAsync(0), () => Report(""));
        ClusterMail.AssertDeliveredOnce(bed.Receiver, load.Accepted.Concat(limited), () => Report("after the queue was swept"));
        ClusterMail.AssertDeliveredOnce(bed.HeldReceiver!, held, () => Report("after the queue was swept"));
        Assert.True(AllNodes.Any(n => bed.Node(n).Output.Contains("journal write failed")), Report("no node logged the failed writes"));
    }

    static Task<(int Status, string Text)[]> ReadinessAsync(ClusterTestbed bed) => Task.WhenAll(AllNodes.Select(bed.ReadinessAsync));

    static Task<string> SendLimitedAsync(ClusterTestbed bed, int node, string tag) =>
        SendAsync(bed, node, tag, "app@limited.example", $"{tag}@rcpt.example", ClusterTestbed.LimitedClient());

    /// <summary>One message with Message-ID <paramref name="tag"/>@test into node <paramref name="node"/>; its answer.</summary>
    static async Task<string> SendAsync(ClusterTestbed bed, int node, string tag, string from, string to, MailKit.Net.Smtp.SmtpClient? client = null)
    {
        using var smtp = client ?? new MailKit.Net.Smtp.SmtpClient();
        smtp.Timeout = 60_000;
        await smtp.ConnectAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), MailKit.Security.SecureSocketOptions.None);
        return await smtp.TrySendAsync(ClusterMail.Message($"{tag}@test", from, to));
    }
}
