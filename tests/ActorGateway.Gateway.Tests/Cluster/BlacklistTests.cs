using ActorGateway.Gateway.Tests.Support;
using MailKit.Net.Smtp;

namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>The blacklist monitor against DNSBL zones served by dnsmasq, on the three-node cluster.</summary>
[Collection(ClusterCollection.Name)]
public sealed class BlacklistTests
{
    // eu-de-01's egress address 127.0.0.1 as a DNSBL query name; eu-de-03's is 127.0.0.3.
    static readonly string[] Listed = ["host-record=1.0.0.127.dnsbl.test,127.0.0.2", "txt-record=1.0.0.127.dnsbl.test,\"Listed for a test, see https://dnsbl.test/1\"",
                                       "host-record=3.0.0.127.refusing.test,127.255.255.254", "mx-host=ops.example,mx.rcpt.example,10"];
    static readonly string[] Clear = ["host-record=3.0.0.127.refusing.test,127.255.255.254", "mx-host=ops.example,mx.rcpt.example,10"];

    [Fact]
    public async Task A_listed_good_gateway_is_reported_leaves_the_good_pool_until_delisted_and_the_monitor_survives_its_node()
    {
        using var removal = new RemovalEndpoint();
        await using var bed = await ClusterTestbed.StartAsync(extraDns: Listed, extraHocon: $$"""
            gateway.blacklists {
              schedule = "*/2 * * * * *"
              time-zone = "UTC"
              operations-mailbox = "ops@ops.example"
              notification-sender = "gateway@sender.example"
              zones = [
                { zone = "dnsbl.test", listed = ["127.0.0.2"], refused = ["127.255.255.254"], removal-url = "{{removal.Url}}" }
                { zone = "refusing.test", listed = [], refused = ["127.255.255.254"] }
              ]
            }
            """);

        // Listed: operations are told, removal is requested, and eu-de-01 leaves the good pool.
        var notice = await WaitForSubjectAsync(bed, "[ActorGateway] 127.0.0.1 listed on dnsbl.test");
        Assert.Contains("Listed for a test, see https://dnsbl.test/1", notice.Text);
        Assert.Contains("taken out of the good pool", notice.Text);
        await Eventually.WaitAsync(() => removal.Requests.Any(r => r.StartsWith("POST") && r.Contains("\"address\":\"127.0.0.1\"") && r.Contains("\"zone\":\"dnsbl.test\"")), TimeSpan.FromSeconds(10), () => "condition not met\n" + bed.Logs());
        // A refusal code is not a listing.
        await bed.Node(0).WaitForLogAsync("refusing.test refused the query for 127.0.0.3");
        Assert.DoesNotContain(bed.Receiver.Messages(), m => m.Text.Contains("127.0.0.3 listed"));

        await bed.Node(0).WaitForLogAsync("pool good: 1 gateway\\(s\\) available .*, blacklisted and left out");
        // The pools as the status page reads them: eu-de-01 listed and left out of the good pool, eu-de-02 in service.
        await Eventually.WaitAsync(async () => await PoolsAsync(bed, 1) is var pools
                && pools.Contains($"{{\"node\":\"{bed.ClusterAddress(0)}\",\"egress\":\"127.0.0.1\",\"reachable\":true,\"blacklisted\":true,\"routed\":false}}")
                && pools.Contains($"{{\"node\":\"{bed.ClusterAddress(1)}\",\"egress\":\"127.0.0.2\",\"reachable\":true,\"blacklisted\":false,\"routed\":true}}"),
            TimeSpan.FromSeconds(10), () => "/api/pools does not show eu-de-01 left out\n" + PoolsAsync(bed, 1).Result);
        var ids = await SendGoodMailAsync(bed, "while-listed", 6);
        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, ids, TimeSpan.FromSeconds(30)));
        Assert.All(bed.Receiver.Messages().Where(m => ids.Contains(m.MessageId()!)), m => Assert.Equal(ClusterTestbed.Address(1), m.Peer));

        // Delisted: told, and back in the pool.
        var delistedSince = DateTime.Now;
        await bed.RepublishDnsAsync(Clear);
        await WaitForSubjectAsync(bed, "[ActorGateway] 127.0.0.1 delisted from dnsbl.test");
        await Eventually.WaitAsync(() => NodeLog.FirstAfter(bed.Node(0).Output, @"pool good: 2 gateway\(s\) available \[[^\]]*\]\s*$", delistedSince) is not null, TimeSpan.FromSeconds(30), () => "condition not met\n" + bed.Logs());

        // The monitor's node (eu-de-01, the oldest) dies: the monitor runs on and its history is intact.
        await bed.KillNodeAsync(0);
        var survivors = new[] { 1, 2 };
        await Eventually.WaitAsync(() => survivors.Any(n => bed.Node(n).Output.Contains("blacklist monitor running on") &&
                                                 System.Text.RegularExpressions.Regex.IsMatch(bed.Node(n).Output, @"blacklist monitor running on .*0 current listing\(s\), 1 in the history")), TimeSpan.FromSeconds(40), () => "condition not met\n" + bed.Logs());
    }

    static async Task<string> PoolsAsync(ClusterTestbed bed, int node)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", ClusterTestbed.OperationsToken);
        return await http.GetStringAsync(bed.OperationsUrl(node) + "/api/pools");
    }

    static async Task<ActorGateway.Testing.ReceivedMail> WaitForSubjectAsync(ClusterTestbed bed, string subject)
    {
        ActorGateway.Testing.ReceivedMail? found = null;
        await Eventually.WaitAsync(() => (found = bed.Receiver.Messages().FirstOrDefault(m => m.Recipients.Contains("ops@ops.example") && m.Text.Contains("Subject: " + subject))) is not null, TimeSpan.FromSeconds(40), () => "condition not met\n" + bed.Logs());
        return found!;
    }

    static async Task<List<string>> SendGoodMailAsync(ClusterTestbed bed, string tag, int count)
    {
        var ids = new List<string>();
        using var client = new SmtpClient();
        await client.ConnectAsync(ClusterTestbed.Address(0), bed.SmtpPort(0), MailKit.Security.SecureSocketOptions.None);
        for (var i = 0; i < count; i++)
        {
            var id = $"{tag}-{i}@test";
            Assert.Equal("250", await client.TrySendAsync(ClusterMail.Message(id, "alice@sender.example", $"r{i}@{(i % 2 == 0 ? "rcpt" : "other")}.example")));
            ids.Add(id);
        }
        return ids;
    }
}
