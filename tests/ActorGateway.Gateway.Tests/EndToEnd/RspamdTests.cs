using System.Text;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Scanning;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>The rspamd client against the real daemon, and the gateway routing by its scores.</summary>
public sealed class RspamdTests
{
    [Fact]
    public async Task Rspamd_scores_gtube_high_and_the_gateway_sends_it_through_the_bad_pool()
    {
        await using var dns = await Dnsmasq.StartAsync(["mx-host=sender.example,mail.sender.example,10", "host-record=mail.sender.example,127.0.0.1"]);
        await using var rspamd = await Rspamd.StartAsync(dns.Endpoint);

        // The client alone.
        var scorer = new RspamdScorer(new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, new Uri(rspamd.Url));
        var context = new SpamContext("127.0.0.1", "client.test", "alice@sender.example", ["bob@rcpt.example"], null);
        var gtube = await scorer.ScoreAsync(Encoding.ASCII.GetBytes($"Subject: offer\r\n\r\n{BuiltInSpamScorer.Gtube}\r\n"), context, CancellationToken.None);
        Assert.True(gtube.Scored, gtube.Error);
        Assert.True(gtube.Score >= 15, $"GTUBE scored {gtube.Score}");
        Assert.Contains("GTUBE", gtube.Symbols);
        var clean = await scorer.ScoreAsync(Encoding.ASCII.GetBytes(
            "From: Alice <alice@sender.example>\r\nTo: bob@rcpt.example\r\nSubject: minutes\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@sender.example>\r\n\r\nSee you tomorrow at ten.\r\n"),
            context, CancellationToken.None);
        Assert.True(clean.Scored && clean.Score < 5, $"clean mail scored {clean.Score}: {string.Join(",", clean.Symbols)}");

        // The gateway using it: spam leaves from the bad address, clean mail from the good one.
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.scanning.antispam { engine = rspamd, rspamd-url = "{{rspamd.Url}}" }
            """);
        var spam = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "spam@rcpt.example", "--body", BuiltInSpamScorer.Gtube);
        var ham = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "ham@rcpt.example", "--body", "See you tomorrow at ten.");
        Assert.True(spam.ExitCode == 0 && ham.ExitCode == 0, spam + "\n" + ham);
        var got = await bed.Receiver.WaitForAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal(GatewayTestbed.BadAddress, got.Single(m => m.Recipients.Contains("spam@rcpt.example")).Peer);
        Assert.Equal(GatewayTestbed.GoodAddress, got.Single(m => m.Recipients.Contains("ham@rcpt.example")).Peer);
        await bed.Gateway.WaitForLogAsync($@"{spam.QueueId()}: tenant=local spam score=\d+.*GTUBE.* scorer=rspamd -> pool=bad");
    }

    [Fact]
    public async Task Rspamd_down_means_451_never_an_unscored_250()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.scanning.antispam { engine = rspamd, rspamd-url = "http://127.0.0.1:{{FreePort.Next()}}", timeout = 5s }
            """);
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.Contains("451 4.7.0 Spam scanner unavailable, try again later", swaks.Replies());
    }
}
