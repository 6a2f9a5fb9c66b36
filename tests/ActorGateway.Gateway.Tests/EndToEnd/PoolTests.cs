using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Scanning;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>Unremarkable mail leaves from the good address, suspected spam only from the bad one.</summary>
public sealed class PoolTests
{
    [Fact]
    public async Task Clean_mail_leaves_from_the_good_address_and_gtube_from_the_bad_one()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        var clean = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "clean@rcpt.example", "--body", "Minutes of today's meeting.");
        var spam = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "spam@rcpt.example", "--body", $"Buy now! {BuiltInSpamScorer.Gtube}");
        Assert.True(clean.ExitCode == 0 && spam.ExitCode == 0, clean + "\n" + spam); // spam is accepted, not refused

        var got = await bed.Receiver.WaitForAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal(GatewayTestbed.GoodAddress, got.Single(m => m.Recipients.Contains("clean@rcpt.example")).Peer);
        Assert.Equal(GatewayTestbed.BadAddress, got.Single(m => m.Recipients.Contains("spam@rcpt.example")).Peer);
        await bed.Gateway.WaitForLogAsync($@"{spam.QueueId()}: tenant=local spam score=1000 threshold=5 symbols=\[GTUBE\] scorer=builtin -> pool=bad",
                                          $@"{spam.QueueId()}: tenant=local pool=bad to=<spam@rcpt.example> status=delivered");
    }

    [Fact]
    public async Task Spam_waits_while_the_bad_pool_cannot_send_and_never_leaves_from_a_good_address()
    {
        // The bad pool's source is IPv6 loopback while every MX here is IPv4: it cannot connect anywhere.
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: "gateway.pools.bad.source-address = \"::1\"");
        var spam = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "spam@rcpt.example", "--body", BuiltInSpamScorer.Gtube);
        Assert.True(spam.ExitCode == 0, spam.ToString());
        await bed.Gateway.WaitForLogAsync($@"{spam.QueueId()}: tenant=local pool=bad to=<spam@rcpt\.example> status=deferred .*attempt=2");
        Assert.Empty(bed.Receiver.Messages());

        // The bad pool works again (its address fixed, node restarted): the mail leaves from it.
        await bed.Gateway.KillAsync();
        await bed.AppendConfigAsync($"gateway.pools.bad.source-address = \"{GatewayTestbed.BadAddress}\"");
        await bed.RestartGatewayAsync();
        var got = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(GatewayTestbed.BadAddress, got.Peer);
    }

    [Fact]
    public async Task A_tenant_threshold_overrides_the_global_one()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: "gateway.tenants.local.spam-threshold = 2.5");
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "rule@rcpt.example", "--header", "Subject: Free money for you");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var got = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(GatewayTestbed.BadAddress, got.Peer); // 3.0 >= 2.5, though below the global 5.0
    }
}
