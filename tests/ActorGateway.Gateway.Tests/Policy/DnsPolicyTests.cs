using ActorGateway.Mail.Checks;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Dns;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>Sender-domain check and next-hop resolution against a real DNS server.</summary>
public sealed class DnsPolicyTests : IAsyncLifetime
{
    Dnsmasq _dns = null!;

    public async Task InitializeAsync() => _dns = await Dnsmasq.StartAsync([
        "mx-host=multi.example,mx2.multi.example,20", "mx-host=multi.example,mx1.multi.example,10",
        "host-record=mx1.multi.example,127.0.0.11", "host-record=mx2.multi.example,127.0.0.12",
        "host-record=aonly.example,127.0.0.13",
        "mx-host=dangling.example,nowhere.dangling.example,10",
        "mx-host=nullmx.example,.,0",
        "host-record=relay.internal,127.0.0.14",
    ]);

    public async Task DisposeAsync() => await _dns.DisposeAsync();

    [Theory]
    [InlineData("multi.example", SenderDomainVerdict.Resolves)]
    [InlineData("aonly.example", SenderDomainVerdict.Resolves)]
    [InlineData("missing.example", SenderDomainVerdict.DoesNotResolve)]
    [InlineData("nullmx.example", SenderDomainVerdict.DoesNotResolve)]
    [InlineData("[192.0.2.1]", SenderDomainVerdict.Resolves)]
    public async Task Sender_domain_verdicts(string domain, SenderDomainVerdict expected)
    {
        var check = new SenderDomainCheck(DnsResolver.Create([_dns.Endpoint]));
        Assert.Equal(expected, await check.CheckAsync(domain));
    }

    [Fact]
    public async Task A_dead_dns_server_is_a_temporary_failure()
    {
        var check = new SenderDomainCheck(DnsResolver.Create([$"127.0.0.1:{FreePort.Next()}"], TimeSpan.FromMilliseconds(300)));
        Assert.Equal(SenderDomainVerdict.TemporaryFailure, await check.CheckAsync("multi.example"));
    }

    [Fact]
    public async Task Mx_hosts_are_tried_by_preference_then_the_implicit_mx()
    {
        var resolver = new NextHopResolver(DnsResolver.Create([_dns.Endpoint]), new Dictionary<string, string>(), 2525);
        var multi = await resolver.ResolveAsync("multi.example");
        Assert.Equal(ResolutionKind.Resolved, multi.Kind);
        Assert.Equal(new[] { "mx1.multi.example", "mx2.multi.example" }, multi.Hops.Select(h => h.Host));
        Assert.Equal("127.0.0.11", multi.Hops[0].Addresses.Single().ToString());
        Assert.All(multi.Hops, h => Assert.Equal(2525, h.Port));

        var implicitMx = await resolver.ResolveAsync("aonly.example");
        Assert.Equal("aonly.example", implicitMx.Hops.Single().Host);

        Assert.Equal(ResolutionKind.NoMailServer, (await resolver.ResolveAsync("missing.example")).Kind);
        Assert.Equal(ResolutionKind.NoMailServer, (await resolver.ResolveAsync("nullmx.example")).Kind);
        Assert.Equal(ResolutionKind.NoMailServer, (await resolver.ResolveAsync("dangling.example")).Kind);
    }

    [Fact]
    public async Task Routes_override_mx_for_a_domain_and_its_subdomains()
    {
        var routes = new Dictionary<string, string> { ["multi.example"] = "relay.internal:2600", [".corp.example"] = "[127.0.0.15]:2601" };
        var resolver = new NextHopResolver(DnsResolver.Create([_dns.Endpoint]), routes, 25);
        var r = await resolver.ResolveAsync("multi.example");
        Assert.Equal(("relay.internal", 2600, "127.0.0.14"), (r.Hops.Single().Host, r.Hops.Single().Port, r.Hops.Single().Addresses.Single().ToString()));
        var sub = await resolver.ResolveAsync("eu.corp.example");
        Assert.Equal(2601, sub.Hops.Single().Port);
        Assert.Equal("127.0.0.15", sub.Hops.Single().Addresses.Single().ToString());
    }

    [Fact]
    public void Retry_schedule_repeats_its_last_delay_and_expires()
    {
        var s = new RetrySchedule([TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)], TimeSpan.FromDays(5));
        Assert.Equal(TimeSpan.FromMinutes(1), s.DelayAfter(1));
        Assert.Equal(TimeSpan.FromMinutes(5), s.DelayAfter(2));
        Assert.Equal(TimeSpan.FromMinutes(5), s.DelayAfter(9));
        var t0 = DateTimeOffset.UtcNow;
        Assert.False(s.IsExpired(t0, t0.AddDays(4.9)));
        Assert.True(s.IsExpired(t0, t0.AddDays(5)));
    }

    [Fact]
    public void Retry_times_counted_from_receipt_are_the_next_one_after_a_time_also_past_the_listed_delays()
    {
        var s = new RetrySchedule([TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)], TimeSpan.FromDays(5));
        var t0 = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(t0.AddMinutes(1), s.NextAfter(t0, t0));
        Assert.Equal(t0.AddMinutes(6), s.NextAfter(t0, t0.AddMinutes(1)));      // due at the first retry: the second
        Assert.Equal(t0.AddMinutes(6), s.NextAfter(t0, t0.AddMinutes(5.9)));
        Assert.Equal(t0.AddMinutes(11), s.NextAfter(t0, t0.AddMinutes(6)));     // the last delay repeats
        Assert.Equal(t0.AddMinutes(1001), s.NextAfter(t0, t0.AddMinutes(997.5)));
    }

    [Fact]
    public void Queue_ids_are_unique_and_sort_by_time()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => ActorGateway.Mail.Queue.QueueId.New()).ToList();
        Assert.Equal(1000, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^[0-9A-Z]{16}$", id));
        var later = ActorGateway.Mail.Queue.QueueId.New();
        Thread.Sleep(5);
        Assert.True(string.CompareOrdinal(ActorGateway.Mail.Queue.QueueId.New(), later) > 0);
    }
}
