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

        StorageFaultChecks.Summary(output, load, down, back);
        StorageFaultChecks.AssertRefusedOnlyWith451(load, () => Report(bed, load, ""));
        await StorageFaultChecks.AssertAcceptedDeliveredOnceAsync(bed.Receiver, load, TimeSpan.FromSeconds(60), () => Report(bed, load, ""));
        await StorageFaultChecks.AssertQueueSweptAsync(bed.MetricsAsync, () => Report(bed, load, ""));
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

        StorageFaultChecks.Summary(output, load, full, freed);
        StorageFaultChecks.AssertRefusedOnlyWith451(load, () => Report(bed, load, ""));
        await bed.StartReceiverAsync();
        await StorageFaultChecks.AssertAcceptedDeliveredOnceAsync(bed.Receiver, load, TimeSpan.FromSeconds(60), () => Report(bed, load, ""));
        await StorageFaultChecks.AssertQueueSweptAsync(bed.MetricsAsync, () => Report(bed, load, ""));
        Assert.Matches("journal write failed", bed.Gateway.Output);
        Assert.Matches("storage back", bed.Gateway.Output);
    }

    static string Report(GatewayTestbed bed, MailLoad load, string what) =>
        $"{what}\n{StorageFaultChecks.Answers(load)}\n{Tail(bed.Gateway.Output, 150)}";

    static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}
