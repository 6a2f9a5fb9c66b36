using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// The store fails under load, and a 250 stays a promise: while it is down every client hears
/// 451 4.3.0 and the node says it is not ready; when it returns, the node accepts mail again by
/// itself, and every message that got a 250 arrives, once.
/// </summary>
public sealed class StorageFaultTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static readonly TimeSpan Outage = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task PostgreSQL_stopped_under_load_refuses_with_451_and_recovers_without_losing_accepted_mail()
    {
        await using var pg = await PostgresServer.StartAsync();
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.storage { provider = postgresql, connection-string = "{{pg.ConnectionString()}}" }
            gateway.smtp.store-timeout = 10s
            """);
        await using var load = MailLoad.Start(bed.SmtpPort, clients: 4, prefix: "pg");
        await Eventually.WaitAsync(() => load.Accepted.Count >= 20, TimeSpan.FromSeconds(30), () => Report(bed, load, "no steady load"));

        await pg.StopAsync();
        var down = DateTime.UtcNow;
        await Eventually.WaitAsync(async () => (await bed.ReadinessAsync()).Status == 503, TimeSpan.FromSeconds(20),
            () => Report(bed, load, "still ready with the database stopped"));
        // Clients keep sending into the outage for a few seconds.
        await Eventually.WaitAsync(() => load.Count(s => s.Reply != "250", down + Outage) > 0, TimeSpan.FromSeconds(30),
            () => Report(bed, load, "not refused while the database is stopped"));
        var readiness = await bed.ReadinessAsync();
        Assert.True(readiness.Status == 503, readiness.Text);

        await pg.RestartAsync();
        var back = DateTime.UtcNow;
        await Eventually.WaitAsync(async () => (await bed.ReadinessAsync()).Status == 200, TimeSpan.FromSeconds(30),
            () => Report(bed, load, "not ready again after the database returned"));
        await Eventually.WaitAsync(() => load.Count(s => s.Reply == "250", back) >= 20, TimeSpan.FromSeconds(30),
            () => Report(bed, load, "no mail accepted after the database returned"));
        await load.StopAsync();

        Summary(load, down, back);
        AssertRefusedOnlyWith451(bed, load);
        var missing = await ClusterMail.WaitForIdsAsync(bed.Receiver, load.Accepted, TimeSpan.FromSeconds(60));
        Assert.True(missing.Count == 0, $"{missing.Count} of {load.Accepted.Count} accepted message(s) lost: {string.Join(", ", missing.Take(10))}\n" + Report(bed, load, ""));
        ClusterMail.AssertDeliveredOnce(bed.Receiver, load.Accepted, () => Report(bed, load, ""));
        await AssertQueueSweptAsync(bed, load);
        Assert.Matches("journal write failed", bed.Gateway.Output);
        Assert.Matches("storage back", bed.Gateway.Output);
    }

    [MountableFact]
    public async Task A_full_disk_under_SQLite_refuses_with_451_and_recovers_without_losing_accepted_mail()
    {
        await using var disk = await SmallFilesystem.MountAsync(megabytes: 24);
        // No receiver until the end: the queue grows, as it does when a disk fills up.
        await using var bed = await GatewayTestbed.StartAsync(startReceiver: false, extraHocon: $"""
            gateway.data-dir = "{disk.Path}"
            # Refused connections pause the destination; the receiver comes at the end.
            gateway.delivery.destination.pause = 1s
            """);
        await using var load = MailLoad.Start(bed.SmtpPort, clients: 4, prefix: "disk", body: string.Concat(Enumerable.Repeat(new string('x', 76) + "\n", 100)));
        await Eventually.WaitAsync(() => load.Accepted.Count >= 20, TimeSpan.FromSeconds(30), () => Report(bed, load, "no steady load"));

        await disk.FillAsync();
        var full = DateTime.UtcNow;
        await Eventually.WaitAsync(async () => (await bed.ReadinessAsync()).Status == 503, TimeSpan.FromSeconds(30),
            () => Report(bed, load, $"still ready with the disk full ({disk.FreeBytes} bytes free)"));
        await Eventually.WaitAsync(() => load.Count(s => s.Reply != "250", full + Outage) > 0, TimeSpan.FromSeconds(30),
            () => Report(bed, load, $"not refused with the disk full ({disk.FreeBytes} bytes free)"));
        var readiness = await bed.ReadinessAsync();
        Assert.True(readiness.Status == 503, readiness.Text);

        disk.Free();
        var freed = DateTime.UtcNow;
        await Eventually.WaitAsync(async () => (await bed.ReadinessAsync()).Status == 200, TimeSpan.FromSeconds(30),
            () => Report(bed, load, "not ready again after space returned"));
        await Eventually.WaitAsync(() => load.Count(s => s.Reply == "250", freed) >= 20, TimeSpan.FromSeconds(30),
            () => Report(bed, load, "no mail accepted after space returned"));
        await load.StopAsync();

        Summary(load, full, freed);
        AssertRefusedOnlyWith451(bed, load);
        await bed.StartReceiverAsync();
        var missing = await ClusterMail.WaitForIdsAsync(bed.Receiver, load.Accepted, TimeSpan.FromSeconds(60));
        Assert.True(missing.Count == 0, $"{missing.Count} of {load.Accepted.Count} accepted message(s) lost: {string.Join(", ", missing.Take(10))}\n" + Report(bed, load, ""));
        ClusterMail.AssertDeliveredOnce(bed.Receiver, load.Accepted, () => Report(bed, load, ""));
        await AssertQueueSweptAsync(bed, load);
        Assert.Matches("journal write failed", bed.Gateway.Output);
        Assert.Matches("storage back", bed.Gateway.Output);
    }

    /// <summary>What the clients saw around the fault: when refusals began, and when mail was accepted again.</summary>
    void Summary(MailLoad load, DateTime fault, DateTime repaired)
    {
        var results = load.Results;
        var firstRefusal = results.FirstOrDefault(s => s.At >= fault && s.Reply != "250");
        var firstAccepted = results.FirstOrDefault(s => s.At >= repaired && s.Reply == "250");
        output.WriteLine($"{results.Count(s => s.Reply == "250")} accepted, {results.Count(s => s.Reply != "250")} refused; " +
                         $"first refusal {(firstRefusal is null ? "-" : $"{(firstRefusal.At - fault).TotalSeconds:0.0} s")} after the fault, " +
                         $"first 250 {(firstAccepted is null ? "-" : $"{(firstAccepted.At - repaired).TotalSeconds:0.0} s")} after the repair; " +
                         $"250s between: {results.Count(s => s.At >= fault && s.At < repaired && s.Reply == "250")}");
        foreach (var g in load.Refused.GroupBy(s => s.Reply)) output.WriteLine($"{g.Count()} x {g.Key}");
    }

    /// <summary>
    /// The queue sweeper (a persistent singleton, stopped when its own write failed) runs again
    /// and has seen every message done.
    /// </summary>
    static Task AssertQueueSweptAsync(GatewayTestbed bed, MailLoad load) =>
        Eventually.WaitAsync(async () => (await bed.MetricsAsync()).Contains("\nactorgateway_queue_messages 0\n"), TimeSpan.FromSeconds(30),
            () => Report(bed, load, "the queue sweeper does not report an empty queue: " +
                string.Join(" ", bed.MetricsAsync().GetAwaiter().GetResult().Split('\n').Where(l => l.StartsWith("actorgateway_queue")))));

    static void AssertRefusedOnlyWith451(GatewayTestbed bed, MailLoad load)
    {
        var other = load.Refused.Where(s => s.Reply != "451 4.3.0 Message not stored: the queue storage is unavailable, try again later").ToArray();
        Assert.True(other.Length == 0, $"{other.Length} answer(s) other than 451 4.3.0: " +
                                       string.Join("; ", other.Take(5).Select(s => s.Reply)) + "\n" + Report(bed, load, ""));
    }

    static string Report(GatewayTestbed bed, MailLoad load, string what)
    {
        var answers = load.Results.GroupBy(s => s.Reply).Select(g => $"{g.Count()} x {g.Key}");
        return $"{what}\nanswers: {string.Join(" | ", answers)}\n{Tail(bed.Gateway.Output, 150)}";
    }

    static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
