using ActorGateway.Gateway.Tests.Support;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// Deferred mail waits on disk, not in memory: a message whose next attempt is more than three
/// sweeps ahead leaves memory after its attempt, and the queue sweeper wakes it when it is due.
/// </summary>
public sealed class DeferredQueueTests
{
    [Fact]
    public async Task A_deferred_message_leaves_memory_until_its_retry_and_the_sweeper_wakes_it_for_delivery()
    {
        // Sweeps every second (the test bed's setting): a retry 10 s ahead is well past three sweeps.
        await using var bed = await GatewayTestbed.StartAsync(startReceiver: false, extraHocon: "gateway.delivery.retry-delays = [10s, 10s]");
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var id = swaks.QueueId();

        // Only the node's counters and the shard's statistics are read: asking for the message would start its entity.
        await Eventually.WaitAsync(async () => (await bed.MetricsAsync()).Contains("actorgateway_delivery_results_total{pool=\"good\",status=\"deferred\",tenant=\"local\"} 1"),
            TimeSpan.FromSeconds(20), () => "no deferral counted:\n" + bed.Gateway.Output);
        await Eventually.WaitAsync(async () => MessageEntities(await bed.ReadApiAsync("api/sharding/region-stats")) == 0, TimeSpan.FromSeconds(10),
            () => "the deferred message's entity is still running");
        // The queue's gauge is the sweeper's count, which follows the journal a sweep later.
        await Eventually.WaitAsync(async () => (await bed.MetricsAsync()).Contains("actorgateway_queue_messages 1"), TimeSpan.FromSeconds(10),
            () => "the deferred message is not counted as queued");

        await bed.StartReceiverAsync();
        await Eventually.WaitAsync(() => bed.Receiver.Messages().Count == 1, TimeSpan.FromSeconds(30), () => "not delivered after its retry:\n" + bed.Gateway.Output);
        Assert.Contains($" id {id}", bed.Receiver.Messages().Single().Text);
        await Eventually.WaitAsync(async () => (await bed.MessageAsync(id)).GetProperty("state").GetString() == "done", TimeSpan.FromSeconds(20),
            () => "not recorded as done");
        Assert.Single(bed.Receiver.Messages());
    }

    [Fact]
    public async Task A_recipient_refused_at_the_first_attempt_is_bounced_now_while_another_waits_for_its_retry()
    {
        // The deferred recipient's retry is ten minutes ahead: the NDR must not wait for it.
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: "gateway.delivery.retry-delays = [10m]");
        var tag = Guid.NewGuid().ToString("N");
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", $"reject-{tag}@rcpt.example,defer-{tag}@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var id = swaks.QueueId();

        // sender.example's MX is the same receiver: the NDR arrives there, from the null sender.
        var ndr = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30),
            m => m.Recipients.Contains("alice@sender.example") && m.Text.Contains(id)));
        Assert.Equal("<>", ndr.MailFrom);
        var report = Assert.IsType<MimeKit.MultipartReport>(MimeKit.MimeMessage.Load(new MemoryStream(ndr.Data)).Body);
        var status = Assert.Single(report.OfType<MimeKit.MessageDeliveryStatus>());
        Assert.Equal($"rfc822; reject-{tag}@rcpt.example", Assert.Single(status.StatusGroups.Skip(1))["Final-Recipient"]);
        // Then the message waits on disk for its retry.
        await Eventually.WaitAsync(async () => MessageEntities(await bed.ReadApiAsync("api/sharding/region-stats")) == 0, TimeSpan.FromSeconds(10),
            () => "the deferred message's entity is still running");
        Assert.Empty(bed.Receiver.Messages().Where(m => m.Recipients.Contains($"defer-{tag}@rcpt.example")));
    }

    [Fact]
    public async Task Mail_due_while_its_destination_is_paused_is_deferred_without_an_attempt_and_delivered_once_the_receiver_is_back()
    {
        // One refused connection pauses the destination for 12 s; a retry comes 18 s after receipt, then every 4 s.
        await using var bed = await GatewayTestbed.StartAsync(startReceiver: false, extraHocon:
            "gateway.delivery { retry-delays = [18s, 4s], destination { pause-after-failures = 1, pause = 12s } }");
        async Task<string> SendAsync(string to)
        {
            var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", to);
            Assert.True(swaks.ExitCode == 0, swaks.ToString());
            var id = swaks.QueueId();
            await Eventually.WaitAsync(async () => Attempts(await bed.MessageAsync(id)).Length == 1, TimeSpan.FromSeconds(20),
                () => $"{id}: no first attempt on record\n{bed.Gateway.Output}");
            return id;
        }
        static System.Text.Json.JsonElement[] Attempts(System.Text.Json.JsonElement m) => [.. m.GetProperty("attempts").EnumerateArray()];
        static string Diagnostic(System.Text.Json.JsonElement m) =>
            Attempts(m)[^1].GetProperty("results")[0].GetProperty("diagnostic").GetString()!;

        var a = await SendAsync("a@rcpt.example");     // refused: the destination pauses
        var b = await SendAsync("b@rcpt.example");     // answered "paused"; due 18 s after receipt
        Assert.Contains("paused", Diagnostic(await bed.MessageAsync(b)));
        var bDue = (await bed.MessageAsync(b)).GetProperty("nextAttempt").GetDateTimeOffset();

        // The pause ends; the next message tries again, is refused, and the destination pauses past b's retry.
        var pausedUntil = (await bed.ReadApiAsync("api/delivery/destinations")).EnumerateArray().SelectMany(n => n.GetProperty("destinations").EnumerateArray())
            .Single(d => d.GetProperty("destination").GetString() == "rcpt.example").GetProperty("pausedUntil").GetDateTimeOffset();
        await Task.Delay(pausedUntil - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300));
        var c = await SendAsync("c@rcpt.example");
        Assert.DoesNotContain("paused", Diagnostic(await bed.MessageAsync(c)));
        var d = await SendAsync("d@rcpt.example");     // what tells the queue of the new pause
        Assert.Contains("paused", Diagnostic(await bed.MessageAsync(d)));

        // b falls due in the pause: its next retry moves on, with no attempt made (nor an entity woken for it).
        await Eventually.WaitAsync(async () => (await bed.MessageAsync(b)).GetProperty("nextAttempt").GetDateTimeOffset() > bDue, TimeSpan.FromSeconds(25),
            () => $"{b} was not deferred past {bDue:O}\n{bed.Gateway.Output}");
        Assert.Single(Attempts(await bed.MessageAsync(b)));
        var summary = await bed.ReadApiAsync("api/queue/summary");
        Assert.Contains(summary.GetProperty("pausedDestinations").EnumerateArray(),
            p => p.GetProperty("domain").GetString() == "rcpt.example" && p.GetProperty("pool").GetString() == "good");
        // a's last attempt reached for the receiver: it is tried at its time, and answered "paused".
        await Eventually.WaitAsync(async () => Attempts(await bed.MessageAsync(a)).Length == 2, TimeSpan.FromSeconds(25),
            () => $"{a} was not tried again\n{bed.Gateway.Output}");

        // The receiver is back: after the pause everything goes out, each message once.
        await bed.StartReceiverAsync();
        await Eventually.WaitAsync(() => bed.Receiver.Messages().Count >= 4, TimeSpan.FromSeconds(40),
            () => $"delivered {bed.Receiver.Messages().Count} of 4\n{bed.Gateway.Output}");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(4, bed.Receiver.Messages().Count);
        foreach (var id in new[] { a, b, c, d })
            Assert.Single(bed.Receiver.Messages(), m => m.Text.Contains($" id {id}"));
    }

    static int MessageEntities(System.Text.Json.JsonElement stats) =>
        stats.EnumerateArray().Where(r => r.GetProperty("region").GetString() == ActorGateway.Node.Pipeline.MessageExtractor.RegionName)
            .Sum(r => r.GetProperty("entities").GetInt32());
}
