using System.Net;
using ActorGateway.Mail.Tenants;

namespace ActorGateway.Gateway.Tests.Policy;

public sealed class TenantDirectoryTests
{
    static Tenant T(string id, string[] nets, string[] domains, Dictionary<string, string>? users = null) =>
        new(id, nets.Select(IPNetwork.Parse).ToArray(), users ?? new(), domains, new RateLimitSettings());

    [Fact]
    public void Most_specific_network_wins_and_unknown_addresses_have_no_tenant()
    {
        var dir = new TenantDirectory([T("wide", ["10.0.0.0/8"], []), T("narrow", ["10.1.2.0/24"], []), T("v6", ["2001:db8::/32"], [])]);
        Assert.Equal("narrow", dir.FindByAddress(IPAddress.Parse("10.1.2.3"))!.Id);
        Assert.Equal("wide", dir.FindByAddress(IPAddress.Parse("10.9.9.9"))!.Id);
        Assert.Equal("narrow", dir.FindByAddress(IPAddress.Parse("::ffff:10.1.2.3"))!.Id);
        Assert.Equal("v6", dir.FindByAddress(IPAddress.Parse("2001:db8::1"))!.Id);
        Assert.Null(dir.FindByAddress(IPAddress.Parse("192.0.2.1")));
    }

    [Fact]
    public void Login_needs_the_right_password_and_a_hash_never_the_plain_text()
    {
        var hash = PasswordHash.Create("s3cret", 1000);
        Assert.StartsWith("pbkdf2-sha256$1000$", hash);
        Assert.DoesNotContain("s3cret", hash);
        var dir = new TenantDirectory([T("acme", [], ["acme.example"], new() { ["app"] = hash })]);
        Assert.Equal("acme", dir.Authenticate("app", "s3cret")!.Id);
        Assert.Null(dir.Authenticate("app", "S3cret"));
        Assert.Null(dir.Authenticate("other", "s3cret"));
        Assert.Throws<ArgumentException>(() => new TenantDirectory([T("bad", [], [], new() { ["u"] = "plaintext" })]));
    }

    [Fact]
    public void A_tenant_owns_its_domains_and_their_subdomains_only()
    {
        var t = T("acme", [], ["acme.example"]);
        Assert.True(t.OwnsDomain("acme.example"));
        Assert.True(t.OwnsDomain("Mail.ACME.example"));
        Assert.False(t.OwnsDomain("notacme.example"));
        Assert.False(t.OwnsDomain("acme.example.evil"));
    }
}
