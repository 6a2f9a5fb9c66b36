using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// What the queue API shows of new mail while the intake makes its first attempt, and after:
/// a look during the attempt must not leave a stale copy that keeps showing the message as it
/// was. One node, swaks as the client, aiosmtpd behind a 2 s round trip as the receiver.
/// </summary>
public sealed class QueueViewTests
{
    [Fact]
    public async Task A_message_looked_at_during_its_first_attempt_shows_its_outcome_once_it_is_delivered()
    {
        await using var receiver = await TestMailReceiver.StartAsync();
        await using var proxy = new LatencyProxy(receiver.Port, TimeSpan.FromSeconds(2));
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.delivery.routes { "far.example" = "127.0.0.1:{{proxy.Port}}" }
            """);

        var sent = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@far.example");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        var id = sent.QueueId();

        // During the attempt (several round trips): queued, nothing on record yet.
        var during = await bed.MessageAsync(id);
        Assert.Equal("queued", during.GetProperty("state").GetString());
        Assert.Equal(0, during.GetProperty("attempts").GetArrayLength());

        // Delivered: the API shows it done, with the attempt, long before an idle entity would have been passivated.
        await Eventually.WaitAsync(() => receiver.Messages().Count == 1, TimeSpan.FromSeconds(30), () => "not delivered:\n" + bed.Gateway.Output);
        await Eventually.WaitAsync(async () => (await bed.MessageAsync(id)).GetProperty("state").GetString() == "done", TimeSpan.FromSeconds(20),
            () => $"the API still shows {id} as it was during its first attempt:\n{bed.MessageJsonAsync(id).Result}");
        // Shown by its entity (with the attempts on record) or, once a sweep has deleted it from the
        // queue, by its delivery record: which one depends on when the sweep ran.
        var done = await bed.MessageAsync(id);
        Assert.Equal(1, done.TryGetProperty("attempts", out var attempts) ? attempts.GetArrayLength()
            : done.GetProperty("record").GetProperty("attempts").GetInt32());
    }
}
