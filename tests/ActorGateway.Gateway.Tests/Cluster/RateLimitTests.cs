using System.Collections.Concurrent;
using ActorGateway.Gateway.Tests.Support;
using MailKit.Net.Smtp;

namespace ActorGateway.Gateway.Tests.Cluster;

/// <summary>A tenant's limit holds for the whole cluster, and across the loss of the limiter's node.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RateLimitTests
{
    [Fact]
    public async Task One_hundred_fifty_mails_over_three_nodes_give_exactly_100_accepted_and_50_times_451_and_the_count_survives_failover()
    {
        await using var bed = await ClusterTestbed.StartAsync();
        var outcomes = new ConcurrentBag<string>();
        var started = DateTime.UtcNow;
        // 50 mails into each node at the same time, one MailKit connection per node.
        await Task.WhenAll(Enumerable.Range(0, ClusterTestbed.Nodes).Select(node => Task.Run(async () =>
        {
            using var client = ClusterTestbed.LimitedClient();
            await client.ConnectAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), MailKit.Security.SecureSocketOptions.None);
            for (var i = 0; i < 50; i++)
            {
                if (!client.IsConnected) await client.ConnectAsync(ClusterTestbed.Address(node), bed.SmtpPort(node), MailKit.Security.SecureSocketOptions.None);
                outcomes.Add(await SendAsync(client, $"n{node}-{i}"));
            }
            await client.DisconnectAsync(true);
        })));
        var elapsed = DateTime.UtcNow - started;
        Assert.True(elapsed < TimeSpan.FromSeconds(50), $"sending took {elapsed}, the window is one minute");

        var accepted = outcomes.Count(o => o == "250");
        var limited = outcomes.Count(o => o == "451 4.7.1 Ratelimit reached");
        Assert.True(accepted == ClusterTestbed.RateLimitPerMinute && limited == 50,
            $"accepted {accepted}, 451 {limited}: {string.Join(" | ", outcomes.Where(o => o != "250" && o != "451 4.7.1 Ratelimit reached").Distinct())}\n{bed.Logs()}");
        await bed.Receiver.WaitForAsync(ClusterTestbed.RateLimitPerMinute, TimeSpan.FromSeconds(60));

        // Kill the node that runs the tenant's limiter; another node takes the entity over,
        // replays the journaled count, and still refuses within the same minute.
        var host = Enumerable.Range(0, ClusterTestbed.Nodes).Single(n => bed.Node(n).Output.Contains("rate limit limited: counting on"));
        await bed.KillNodeAsync(host);
        var survivor = (host + 1) % ClusterTestbed.Nodes;
        await bed.Node(survivor).WaitForLogAsync(TimeSpan.FromSeconds(30), $"cluster: member {bed.ClusterAddress(host)} removed");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(58), "too slow to check within the window");
        // Until the entity runs again (within seconds), the answer is a temporary 451 4.3.0, never a pass.
        using var after = ClusterTestbed.LimitedClient();
        await after.ConnectAsync(ClusterTestbed.Address(survivor), bed.SmtpPort(survivor), MailKit.Security.SecureSocketOptions.None);
        string outcome;
        while ((outcome = await SendAsync(after, "after-failover")).StartsWith("451 4.3.0") && DateTime.UtcNow - started < TimeSpan.FromSeconds(58))
            await Task.Delay(500);
        Assert.True(outcome == "451 4.7.1 Ratelimit reached", $"{outcome}\n{bed.Logs()}");
        // The counter now runs on a survivor, with the replayed count (what is still inside the window).
        // Its log line may reach the output a moment after the reply (the log is written in batches).
        var survivors = Enumerable.Range(0, ClusterTestbed.Nodes).Where(n => n != host).ToArray();
        await Eventually.WaitAsync(() => survivors.Any(n => System.Text.RegularExpressions.Regex.IsMatch(bed.Node(n).Output,
                $"rate limit limited: counting on {System.Text.RegularExpressions.Regex.Escape(bed.ClusterAddress(n))}, [1-9][0-9]* message")),
            TimeSpan.FromSeconds(5), () => "no survivor logged the replayed count\n" + bed.Logs());
    }

    static Task<string> SendAsync(SmtpClient client, string tag) =>
        client.TrySendAsync(ClusterMail.Message($"{tag}@test", "app@limited.example", $"{tag}@rcpt.example"));
}
