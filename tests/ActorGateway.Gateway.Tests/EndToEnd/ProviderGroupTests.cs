using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MailKit.Net.Smtp;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// Domains served by one provider (their MX hosts share a suffix) are one destination when a
/// provider group names that suffix: one limit, one set of connections, shown under the group's
/// name; other domains stay destinations of their own. Real DNS (dnsmasq) and receiver.
/// </summary>
public sealed class ProviderGroupTests
{
    [Fact]
    public async Task Domains_whose_MX_hosts_belong_to_a_provider_group_share_its_destination_and_limit()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraDns:
        [
            "mx-host=first.example,mx1.provider.test,10", "mx-host=second.example,mx2.provider.test,10",
            "host-record=mx1.provider.test,127.0.0.1", "host-record=mx2.provider.test,127.0.0.1",
        ], extraHocon: """
            gateway.delivery.groups.provider { mx-suffixes = [".provider.test"], max-concurrency = 2, initial-concurrency = 2 }
            # The destinations stay (with their counts) long enough to be looked at after the mail went out.
            gateway.delivery.idle-connection-timeout = 60s
            """);

        var ids = new List<string>();
        await Task.WhenAll(new[] { "first.example", "second.example", "rcpt.example" }.Select(async domain =>
        {
            using var client = new SmtpClient();
            await client.ConnectAsync("127.0.0.1", bed.SmtpPort, MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 15; i++)
            {
                var id = $"{domain}-{i}@test";
                lock (ids) ids.Add(id);
                Assert.Equal("250", await client.TrySendAsync(ClusterMail.Message(id, "alice@sender.example", $"user{i}@{domain}")));
            }
        }));

        // One destination "provider" for both domains, within its limit.
        var state = await Actorgw.RunAsync(bed.Reading("delivery", "destinations", "--json"));
        Assert.True(state.ExitCode == 0, state.ToString());
        var names = System.Text.Json.JsonDocument.Parse(state.StandardOutput).RootElement.EnumerateArray()
            .SelectMany(a => a.GetProperty("destinations").EnumerateArray())
            .Select(d => (Name: d.GetProperty("destination").GetString(), Limit: d.GetProperty("limit").GetInt32())).ToArray();
        Assert.Contains(names, d => d.Name == "provider" && d.Limit <= 2);
        Assert.DoesNotContain(names, d => d.Name is "first.example" or "second.example");
        Assert.Contains(names, d => d.Name == "rcpt.example");

        Assert.Empty(await ClusterMail.WaitForIdsAsync(bed.Receiver, ids, TimeSpan.FromSeconds(60)));
        ClusterMail.AssertDeliveredOnce(bed.Receiver, ids, () => bed.Gateway.Output);
    }
}
