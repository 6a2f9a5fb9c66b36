using ActorGateway.Gateway.Tests.Support;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>A 250 is a promise: kill -9 the node after it, and the mail still arrives, once.</summary>
public sealed class RestartSafetyTests
{
    [Fact]
    public async Task Mail_accepted_before_a_kill_9_is_delivered_after_restart_exactly_once()
    {
        // No receiver yet: every delivery attempt fails to connect, so the mail waits in the queue.
        await using var bed = await GatewayTestbed.StartAsync(startReceiver: false);
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", $"bob{i}@rcpt.example", "--header", $"Subject: durable {i}");
            Assert.True(swaks.ExitCode == 0, swaks.ToString());
            ids.Add(swaks.QueueId());
        }
        await bed.Gateway.KillAsync();

        await bed.StartReceiverAsync();
        await bed.RestartGatewayAsync();
        var got = await bed.Receiver.WaitForAsync(5, TimeSpan.FromSeconds(60));
        foreach (var id in ids) Assert.Single(got, m => m.Text.Contains($" id {id}"));

        // Once a delivery is recorded (the message is removed from the queue), no restart sends it
        // again. Between the receiver's 250 and that record, a kill means one more delivery:
        // at-least-once, like every MTA.
        await bed.Gateway.WaitForLogAsync(ids.Select(id => $"{id}: removed").ToArray());
        await bed.Gateway.KillAsync();
        await bed.RestartGatewayAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(5, bed.Receiver.Messages().Count);
    }

    [Fact]
    public async Task Kill_9_during_a_burst_loses_no_accepted_mail()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        var sending = Task.Run(async () =>
        {
            var accepted = new List<string>();
            for (var i = 0; i < 40; i++)
            {
                var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", $"burst{i}@rcpt.example");
                if (swaks.ExitCode == 0) accepted.Add(swaks.QueueId());
            }
            return accepted;
        });
        await Task.Delay(TimeSpan.FromSeconds(3));
        await bed.Gateway.KillAsync();
        var accepted = await sending; // later sessions fail to connect: not accepted, not counted
        await bed.RestartGatewayAsync();
        var got = await bed.Receiver.WaitForAsync(accepted.Count, TimeSpan.FromSeconds(60));
        foreach (var id in accepted) Assert.Contains(got, m => m.Text.Contains($" id {id}"));
    }
}
