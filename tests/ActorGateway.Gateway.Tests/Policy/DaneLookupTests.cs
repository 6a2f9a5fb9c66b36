using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Dns;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>
/// TLSA lookups and which MX hosts get them (RFC 7672 2.2), against a DNS responder that sets
/// the AD bit as a validating resolver does.
/// </summary>
public sealed class DaneLookupTests : IAsyncDisposable
{
    const int Port = 2525;
    static readonly byte[] Digest = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    readonly DnssecResponder _dns = new DnssecResponder()
        .Mx("secure.example", "mx.secure.example").A("mx.secure.example", "127.0.0.21")
        .Tlsa($"_{Port}._tcp.mx.secure.example", 3, 1, 1, Digest)
        .Mx("unusable.example", "mx.unusable.example").A("mx.unusable.example", "127.0.0.22")
        .Tlsa($"_{Port}._tcp.mx.unusable.example", 1, 1, 1, Digest).Tlsa($"_{Port}._tcp.mx.unusable.example", 3, 1, 1, Digest[..8])
        .Mx("servfail.example", "mx.servfail.example").A("mx.servfail.example", "127.0.0.23").ServFailTlsa($"_{Port}._tcp.mx.servfail.example")
        .Mx("plain.example", "mx.plain.example").A("mx.plain.example", "127.0.0.24")
        .Mx("unsigned.example", "mx.unsigned.example").A("mx.unsigned.example", "127.0.0.25").Insecure("unsigned.example")
        .Tlsa($"_{Port}._tcp.mx.unsigned.example", 3, 1, 1, Digest)
        .Mx("insecure-host.example", "mx.insecure-host.example").A("mx.insecure-host.example", "127.0.0.26").Insecure("mx.insecure-host.example")
        .Tlsa($"_{Port}._tcp.mx.insecure-host.example", 3, 1, 1, Digest)
        .Mx("insecure-tlsa.example", "mx.insecure-tlsa.example").A("mx.insecure-tlsa.example", "127.0.0.27")
        .Tlsa($"_{Port}._tcp.mx.insecure-tlsa.example", 3, 1, 1, Digest).Insecure($"_{Port}._tcp.mx.insecure-tlsa.example")
        .Mx("alias.example", "mx.alias.example").Cname("mx.alias.example", "host.provider.example").A("host.provider.example", "127.0.0.28")
        .Tlsa($"_{Port}._tcp.host.provider.example", 3, 1, 1, Digest)
        .Mx("alias2.example", "mx.alias2.example").Cname("mx.alias2.example", "host2.provider.example").A("host2.provider.example", "127.0.0.29")
        .Tlsa($"_{Port}._tcp.mx.alias2.example", 2, 0, 1, Digest);

    public ValueTask DisposeAsync() => _dns.DisposeAsync();

    async Task<NextHop> ResolveAsync(string domain)
    {
        var dns = DnsResolver.Create([_dns.Endpoint], TimeSpan.FromSeconds(2), requestDnssec: true);
        var resolution = await new NextHopResolver(dns, new Dictionary<string, string>(), Port, new DaneLookup(dns, Port)).ResolveAsync(domain);
        Assert.Equal(ResolutionKind.Resolved, resolution.Kind);
        return Assert.Single(resolution.Hops);
    }

    [Fact]
    public async Task Secure_mx_address_and_tlsa_records_make_the_host_authenticate()
    {
        var hop = await ResolveAsync("secure.example");
        Assert.Equal(DaneState.Authenticate, hop.Dane!.State);
        var record = Assert.Single(hop.Dane.Records);
        Assert.Equal((3, 1, 1), (record.Usage, record.Selector, record.MatchingType));
        Assert.Equal(Digest, record.Data);
        Assert.Equal(["mx.secure.example", "secure.example"], hop.Dane.Names);
    }

    [Fact]
    public async Task Only_unusable_records_mean_tls_without_authentication()
    {
        var hop = await ResolveAsync("unusable.example");
        Assert.Equal(DaneState.EncryptOnly, hop.Dane!.State);
        Assert.True(hop.Dane.RequiresTls);
    }

    [Fact]
    public async Task A_failing_tlsa_lookup_makes_the_host_unusable()
    {
        var hop = await ResolveAsync("servfail.example");
        Assert.Equal(DaneState.LookupFailed, hop.Dane!.State);
        Assert.Contains("ServerFailure", hop.Dane.Detail);
    }

    [Fact]
    public async Task A_secure_host_without_tlsa_records_stays_opportunistic()
    {
        var hop = await ResolveAsync("plain.example");
        Assert.Equal(DaneState.NotApplicable, hop.Dane!.State);
        Assert.False(hop.Dane.RequiresTls);
    }

    [Theory]
    [InlineData("unsigned.example")]        // MX answer not validated: the MX host name is not trusted
    [InlineData("insecure-host.example")]   // address records not validated: no TLSA lookup at all
    public async Task An_insecure_mx_or_address_answer_means_no_dane(string domain)
    {
        var hop = await ResolveAsync(domain);
        Assert.Null(hop.Dane);
    }

    [Fact]
    public async Task Insecure_tlsa_records_are_ignored()
    {
        var hop = await ResolveAsync("insecure-tlsa.example");
        Assert.Equal(DaneState.NotApplicable, hop.Dane!.State);
    }

    [Fact]
    public async Task An_mx_host_that_is_an_alias_has_its_tlsa_records_looked_up_at_the_target_first()
    {
        var hop = await ResolveAsync("alias.example");
        Assert.Equal(DaneState.Authenticate, hop.Dane!.State);
        Assert.Contains("host.provider.example", hop.Dane.Detail);
        Assert.Equal(["host.provider.example", "mx.alias.example", "alias.example"], hop.Dane.Names);
    }

    [Fact]
    public async Task An_alias_without_tlsa_records_at_its_target_has_them_looked_up_at_its_own_name()
    {
        var hop = await ResolveAsync("alias2.example");
        Assert.Equal(DaneState.Authenticate, hop.Dane!.State);
        Assert.Equal(TlsaAssociation.DaneTa, Assert.Single(hop.Dane.Records).Usage);
        Assert.Contains("_2525._tcp.mx.alias2.example", hop.Dane.Detail);
    }

    [Fact]
    public async Task Without_dane_the_resolver_looks_up_no_tlsa()
    {
        var dns = DnsResolver.Create([_dns.Endpoint], TimeSpan.FromSeconds(2));
        var resolution = await new NextHopResolver(dns, new Dictionary<string, string>(), Port).ResolveAsync("secure.example");
        Assert.Null(Assert.Single(resolution.Hops).Dane);
    }
}
