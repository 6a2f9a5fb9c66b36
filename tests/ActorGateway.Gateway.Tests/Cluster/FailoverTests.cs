using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MailKit.Net.Smtp;
using Xunit.Abstractions;

namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>Any node can die: what it accepted is delivered by the others, and it rejoins when restarted.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FailoverTests(ITestOutputHelper output)
{
    /// <param name="dead">eu-de-01 (a good gateway and the oldest member: it runs the queue sweeper and
    /// both shard coordinators) or eu-de-03 (the bad gateway).</param>
    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task Kill_minus_9_of_a_node_under_load_loses_no_accepted_mail_sends_none_twice_resumes_elsewhere_within_15_s_and_it_rejoins(int dead)
    {
        await using var bed = await ClusterTestbed.StartAsync();
        var survivors = Enumerable.Range(0, ClusterTestbed.Nodes).Where(n => n != dead).ToArray();
        var singletonsMove = dead == 0;

        // Mail that stays queued (its next hop refuses connections), spread over the three nodes
        // and so over shards on all of them: the dead node's share must resume elsewhere.
        var held = new List<string>();
        for (var node = 0; node < ClusterTestbed.Nodes; node++)
        {
            using var client = new SmtpClient();
            await client.ConnectAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 10; i++)
            {
                var id = $"held-{node}-{i}@test";
                var reply = await client.TrySendAsync(ClusterMail.Message(id, "alice@sender.example", $"h{i}@held.example"));
                Assert.True(reply == "250", reply);
                held.Add(id);
            }
        }

        // Steady load into all three nodes: smtp-source (unaccounted) and MailKit (each 250 recorded).
        var smtpSource = ExternalProcess.Require("smtp-source", "postfix");
        var sources = Enumerable.Range(0, ClusterTestbed.Nodes).Select(node => ExternalProcess.Start(smtpSource,
            ["-s", "2", "-m", "100000", "-l", "2000", "-f", "alice@sender.example", "-t", "bulk@rcpt.example", $"{ClusterTestbed.Address(node)}:{bed.SmtpPort(node)}"])).ToArray();
        await using var load = MailLoad.Start(Enumerable.Range(0, ClusterTestbed.Nodes).Select(n => (ClusterTestbed.Address(n), bed.SmtpPort(n))).ToArray(),
            clients: 1, prefix: "load");

        await Task.Delay(TimeSpan.FromSeconds(4));
        var killedAt = DateTime.Now;
        await bed.KillNodeAsync(dead);
        sources[dead].Kill();
        var deadAddress = bed.ClusterAddress(dead);

        // The survivors see it unreachable, down it, remove it; the singletons and its shards move.
        foreach (var s in survivors)
            await bed.Node(s).WaitForLogAsync(TimeSpan.FromSeconds(40), $"cluster: member {deadAddress} removed");
        string SurvivorLogs() => string.Join("\n", survivors.Select(s => bed.Node(s).Output));
        var removedAt = NodeLog.FirstAfter(SurvivorLogs(), $"cluster: member {deadAddress} removed", killedAt)!.Value;
        // Messages also resume before (shards rebalanced when the nodes joined): only what resumes after the removal counts.
        await Eventually.WaitAsync(() => (!singletonsMove || NodeLog.FirstAfter(SurvivorLogs(), "queue sweeper running on", killedAt) is not null)
                                   && NodeLog.FirstAfter(SurvivorLogs(), "resumed on akka.tcp", removedAt) is not null,
            TimeSpan.FromSeconds(30), () => "the queue sweeper or the dead node's messages did not resume on a survivor\n" + bed.Logs());
        var log = SurvivorLogs();
        var timings = new FailoverTiming(
            Detected: Since(killedAt, NodeLog.FirstAfter(log, $"cluster: member {deadAddress} unreachable", killedAt)),
            Downed: Since(killedAt, NodeLog.FirstAfter(log, $"cluster: member {deadAddress} downed", killedAt)),
            Removed: Since(killedAt, removedAt),
            SingletonMoved: Since(killedAt, NodeLog.FirstAfter(log, "queue sweeper running on", killedAt)),
            WorkResumed: Since(killedAt, NodeLog.FirstAfter(log, "resumed on akka.tcp", removedAt)));
        output.WriteLine(timings.ToString());
        foreach (var line in log.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l,
                     "cluster: member|queue sweeper|queue:|ShardCoordinator was moved|resumed on")).Take(40))
            output.WriteLine(line);
        if (singletonsMove && Environment.GetEnvironmentVariable("ACTORGATEWAY_FAILOVER_TIMINGS") is { Length: > 0 } file)
            await File.AppendAllTextAsync(file, timings.Csv() + "\n");
        Assert.True((!singletonsMove || timings.SingletonMoved <= 15) && timings.WorkResumed <= 15, $"{timings}\n{bed.Logs()}");

        // Load goes on into the survivors for a while, then stops.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await load.StopAsync();
        foreach (var s in sources) { s.Kill(); await s.DisposeAsync(); }
        var accepted = load.Accepted;
        Assert.True(accepted.Count > 30, $"only {accepted.Count} accepted under load\n{bed.Logs()}");

        // Every 250 is delivered, including what the dead node had accepted or was delivering.
        var missing = await ClusterMail.WaitForIdsAsync(bed.Receiver, accepted, TimeSpan.FromSeconds(90));
        Assert.True(missing.Count == 0, $"{missing.Count} of {accepted.Count} accepted mails not delivered: {string.Join(", ", missing.Take(10))}\n{bed.Logs()}");
        await bed.StartHeldReceiverAsync();
        var heldMissing = await ClusterMail.WaitForIdsAsync(bed.HeldReceiver!, held, TimeSpan.FromSeconds(60));
        Assert.True(heldMissing.Count == 0, $"held mail not delivered: {string.Join(", ", heldMissing)}\n{bed.Logs()}");

        // Exactly once where no delivery was in flight at the kill: the held mail (its receiver
        // refused until now) and what was accepted after the dead node was removed. Mail accepted
        // before that may have been in the middle of its delivery by the dead node (sent, not yet
        // recorded): at least once, like every MTA. Given time for late second copies to arrive.
        await Task.Delay(TimeSpan.FromSeconds(5));
        ClusterMail.AssertDeliveredOnce(bed.HeldReceiver!, held, bed.Logs);
        // The log's times are local.
        var afterRemoval = load.Results.Where(a => a.Reply == "250" && a.At.ToLocalTime() > removedAt).Select(a => a.MessageId).ToArray();
        Assert.True(afterRemoval.Length > 0, "no mail accepted after the removal");
        ClusterMail.AssertDeliveredOnce(bed.Receiver, afterRemoval, bed.Logs);
        var inFlight = ClusterMail.Duplicates(bed.Receiver, accepted);
        output.WriteLine($"accepted under load: {accepted.Count}, {afterRemoval.Length} after the removal; delivered twice: {inFlight.Count} (all accepted before the removal)");

        // Restarted, the node rejoins (a new incarnation at the same address) and takes mail again.
        await bed.StartNodeAsync(dead);
        await bed.Node(survivors[0]).WaitForLogAsync(TimeSpan.FromSeconds(30), $"(?s)cluster: member {deadAddress} removed.*cluster: member {deadAddress} up");
        using var again = new SmtpClient();
        await again.ConnectAsync(ClusterTestbed.Address(dead), bed.SmtpPort(dead), MailKit.Security.SecureSocketOptions.None);
        Assert.Equal("250", await again.TrySendAsync(ClusterMail.Message("rejoined@test", "alice@sender.example", "back@rcpt.example")));
        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, ["rejoined@test"], TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task While_the_only_bad_gateway_is_dead_spam_waits_and_leaves_from_it_after_its_return_never_from_a_good_address()
    {
        // Idle entities leave memory after 3 s here (120 s by default), so the spam waits passivated,
        // as long waits do in production: the sweeper must bring it back (PoolWaitStarted).
        await using var bed = await ClusterTestbed.StartAsync(extraHocon: "akka.cluster.sharding.passivate-idle-entity-after = 3s");
        const int bad = 2; // eu-de-03
        await bed.KillNodeAsync(bad);
        var badAddress = bed.ClusterAddress(bad);

        var ids = new List<string>();
        async Task SendAsync(int node, string id, bool spam)
        {
            using var client = new SmtpClient();
            await client.ConnectAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), MailKit.Security.SecureSocketOptions.None);
            Assert.Equal("250", await client.TrySendAsync(ClusterMail.Message(id, "alice@sender.example", id.Replace("@test", "@rcpt.example"),
                spam ? $"Buy now! {ActorGateway.Mail.Scanning.BuiltInSpamScorer.Gtube}" : "Your order has shipped.")));
            if (spam) ids.Add(id);
        }
        static bool IsSpam(string? messageId) => messageId?.Contains("spam-") == true;

        // Sent while eu-de-03 may not be known as dead yet.
        for (var node = 0; node < 2; node++)
        {
            await SendAsync(node, $"spam-{node}@test", spam: true);
            await SendAsync(node, $"good-{node}@test", spam: false);
        }

        // Good mail flows; spam waits while eu-de-03 is down (removed from the cluster, not just slow).
        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, ["good-0@test", "good-1@test"], TimeSpan.FromSeconds(30)));
        await bed.Node(0).WaitForLogAsync(TimeSpan.FromSeconds(30), $"cluster: member {badAddress} removed");
        await bed.Node(1).WaitForLogAsync(TimeSpan.FromSeconds(30), $"cluster: member {badAddress} removed");
        await Eventually.WaitAsync(() => bed.Node(0).Output.Contains("no gateway of pool bad is available") || bed.Node(1).Output.Contains("no gateway of pool bad is available"),
            TimeSpan.FromSeconds(60), () => "no message waited for the bad pool\n" + bed.Logs());

        // Spam sent now is never attempted: no node of its pool is up. Its entity waits; only the
        // queue sweeper's wakes (after PoolWaitStarted) keep it from being passivated and then left to
        // the accepting node's first-attempt timeout (here 33 s + 30 s), which the 30 s wait for the
        // late spam below would not outlast.
        for (var node = 0; node < 2; node++) await SendAsync(node, $"late-spam-{node}@test", spam: true);
        await Task.Delay(TimeSpan.FromSeconds(5)); // longer than the passivation time
        Assert.DoesNotContain(bed.Receiver.Messages(), m => IsSpam(m.MessageId()));

        // eu-de-03 returns: the spam leaves, from its address only.
        await bed.StartNodeAsync(bad);
        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, ["late-spam-0@test", "late-spam-1@test"], TimeSpan.FromSeconds(30)));
        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, ids, TimeSpan.FromSeconds(90)));
        Assert.All(bed.Receiver.Messages().Where(m => IsSpam(m.MessageId())), m => Assert.Equal(ClusterTestbed.Address(bad), m.Peer));
        ClusterMail.AssertDeliveredOnce(bed.Receiver, ids.Concat(["good-0@test", "good-1@test", "late-spam-0@test", "late-spam-1@test"]), bed.Logs);
        Assert.All(bed.Receiver.Messages().Where(m => m.MessageId()?.StartsWith("good-") == true),
            m => Assert.Contains(m.Peer, new[] { ClusterTestbed.Address(0), ClusterTestbed.Address(1) }));
    }

    [Fact]
    public async Task After_all_three_nodes_are_killed_and_started_again_the_queue_resumes()
    {
        // No receiver yet: everything accepted stays queued.
        await using var bed = await ClusterTestbed.StartAsync(startReceiver: false);
        var ids = new List<string>();
        for (var node = 0; node < ClusterTestbed.Nodes; node++)
        {
            using var client = new SmtpClient();
            await client.ConnectAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 3; i++)
            {
                var id = $"queued-{node}-{i}@test";
                Assert.Equal("250", await client.TrySendAsync(ClusterMail.Message(id, "alice@sender.example", $"q{node}{i}@rcpt.example")));
                ids.Add(id);
            }
            var spam = $"queued-spam-{node}@test";
            Assert.Equal("250", await client.TrySendAsync(ClusterMail.Message(spam, "alice@sender.example", $"s{node}@rcpt.example",
                ActorGateway.Mail.Scanning.BuiltInSpamScorer.Gtube)));
            ids.Add(spam);
        }
        await bed.WaitForLogOnAnyAsync(TimeSpan.FromSeconds(30), "status=deferred");

        for (var node = 0; node < ClusterTestbed.Nodes; node++) await bed.KillNodeAsync(node);
        await bed.StartReceiverAsync();
        await bed.StartNodeAsync(0);
        await Task.WhenAll(bed.StartNodeAsync(1), bed.StartNodeAsync(2));

        var missing = await ClusterMail.WaitForIdsAsync(bed.Receiver, ids, TimeSpan.FromSeconds(90));
        Assert.True(missing.Count == 0, $"not delivered after the restart: {string.Join(", ", missing)}\n{bed.Logs()}");
        await Task.Delay(TimeSpan.FromSeconds(5));
        ClusterMail.AssertDeliveredOnce(bed.Receiver, ids, bed.Logs);
        Assert.All(bed.Receiver.Messages().Where(m => m.MessageId()!.StartsWith("queued-spam-")), m => Assert.Equal(ClusterTestbed.Address(2), m.Peer));
    }

    static double Since(DateTime start, DateTime? at) => at is { } t ? Math.Round((t - start).TotalSeconds, 1) : double.NaN;

    /// <summary>Seconds from the kill, as the survivors logged them.</summary>
    sealed record FailoverTiming(double Detected, double Downed, double Removed, double SingletonMoved, double WorkResumed)
    {
        public string Csv() => FormattableString.Invariant($"{Detected},{Downed},{Removed},{SingletonMoved},{WorkResumed}");
        public override string ToString() => FormattableString.Invariant(
            $"after kill -9: unreachable {Detected} s, downed {Downed} s, removed {Removed} s, queue sweeper moved {SingletonMoved} s, first message resumed {WorkResumed} s");
    }
}
