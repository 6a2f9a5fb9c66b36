using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Scanning;

namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>Good mail leaves only from the good gateways, spam only from the bad one, whichever node took it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PoolRoutingTests
{
    [Fact]
    public async Task Good_mail_leaves_from_eu_de_01_or_02_and_spam_only_from_eu_de_03_whichever_node_accepted_it()
    {
        await using var bed = await ClusterTestbed.StartAsync();
        for (var node = 0; node < ClusterTestbed.Nodes; node++)
        {
            var good = await Swaks.SendToAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), TimeSpan.FromSeconds(30),
                "alice@sender.example", $"good{node}@rcpt.example", "--body", "Minutes of today's meeting.");
            var spam = await Swaks.SendToAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), TimeSpan.FromSeconds(30),
                "alice@sender.example", $"spam{node}@other.example", "--body", $"Buy now! {BuiltInSpamScorer.Gtube}");
            Assert.True(good.ExitCode == 0 && spam.ExitCode == 0, $"{good}\n{spam}\n{bed.Logs()}");
        }

        var got = await bed.Receiver.WaitForAsync(6, TimeSpan.FromSeconds(60));
        foreach (var m in got)
            if (m.Recipients.Single().StartsWith("good"))
                Assert.Contains(m.Peer, new[] { ClusterTestbed.Address(0), ClusterTestbed.Address(1) });
            else
                Assert.Equal(ClusterTestbed.Address(2), m.Peer);
        Assert.Equal(3, got.Count(m => m.Recipients.Single().StartsWith("spam")));
    }
}
