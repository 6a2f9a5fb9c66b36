using System.Net;
using System.Net.Sockets;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Delivery.MtaSts;
using ActorGateway.Mail.Dns;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>The policy fetch's time limit, crossed by a policy host (real dnsmasq, real socket) that accepts and never answers.</summary>
public sealed class MtaStsFetchLimitTests
{
    [Fact]
    public async Task A_policy_host_that_does_not_answer_within_the_fetch_timeout_gives_no_policy()
    {
        await using var dns = await Dnsmasq.StartAsync(["host-record=mta-sts.slow.example,127.0.0.1"]);
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var fetcher = new MtaStsFetcher(DnsResolver.Create([dns.Endpoint], TimeSpan.FromSeconds(2)), CertificateTrust.SystemOnly, port,
            TimeSpan.FromSeconds(1), 65536);

        var started = DateTime.UtcNow;
        var (policy, error) = await fetcher.FetchPolicyAsync("slow.example", CancellationToken.None);
        Assert.Null(policy);
        Assert.Contains("no answer within 00:00:01", error);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the fetch was not cut off");
    }
}
