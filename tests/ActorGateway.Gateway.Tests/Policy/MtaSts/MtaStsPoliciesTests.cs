using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Delivery.MtaSts;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>The per-node cache of RFC 8461 5.1 with a controlled clock, TXT answer and fetch result.</summary>
public sealed class MtaStsPoliciesTests
{
    sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    static MtaStsPolicy Policy(string mx, int maxAge = 3600) => new(MtaStsMode.Enforce, [mx], TimeSpan.FromSeconds(maxAge));

    readonly Clock _clock = new();
    MtaStsRecord? _record = new("id1");
    Func<(MtaStsPolicy?, string)> _fetch = () => (null, "not set");
    int _fetches;
    readonly List<string> _reports = [];

    MtaStsPolicies Policies() => new((_, _) => Task.FromResult(_record), (_, _) => { _fetches++; return Task.FromResult(_fetch()); }, _clock, _reports.Add);

    [Fact]
    public async Task A_policy_is_fetched_once_and_kept_while_the_id_stays()
    {
        var policies = Policies();
        _fetch = () => (Policy("mx1.example"), "");
        Assert.Equal(["mx1.example"], (await policies.FindAsync("example.com"))!.Mx);
        Assert.Equal(["mx1.example"], (await policies.FindAsync("EXAMPLE.com"))!.Mx);
        Assert.Equal(1, _fetches);
    }

    [Fact]
    public async Task A_new_id_fetches_again()
    {
        var policies = Policies();
        _fetch = () => (Policy("mx1.example"), "");
        await policies.FindAsync("example.com");
        _record = new MtaStsRecord("id2");
        _fetch = () => (Policy("mx2.example"), "");
        Assert.Equal(["mx2.example"], (await policies.FindAsync("example.com"))!.Mx);
        Assert.Equal(2, _fetches);
    }

    [Fact]
    public async Task A_failed_fetch_keeps_the_cached_policy_until_it_expires()
    {
        var policies = Policies();
        _fetch = () => (Policy("mx1.example", maxAge: 600), "");
        await policies.FindAsync("example.com");
        _record = new MtaStsRecord("id2");
        _fetch = () => (null, "HTTP 404");
        Assert.Equal(["mx1.example"], (await policies.FindAsync("example.com"))!.Mx);
        Assert.Contains(_reports, r => r.Contains("HTTP 404") && r.Contains("cached policy (id id1) stays in force"));
        _clock.Now += TimeSpan.FromSeconds(601);
        Assert.Null(await policies.FindAsync("example.com"));
    }

    [Fact]
    public async Task A_vanished_txt_record_keeps_the_cached_policy_until_it_expires()
    {
        var policies = Policies();
        _fetch = () => (Policy("mx1.example", maxAge: 600), "");
        await policies.FindAsync("example.com");
        _record = null;
        Assert.NotNull(await policies.FindAsync("example.com"));
        _clock.Now += TimeSpan.FromSeconds(601);
        Assert.Null(await policies.FindAsync("example.com"));
    }

    [Fact]
    public async Task Without_a_cached_policy_a_failed_fetch_means_no_policy()
    {
        _fetch = () => (null, "certificate did not verify");
        Assert.Null(await Policies().FindAsync("example.com"));
        Assert.Contains(_reports, r => r.Contains("certificate did not verify") && r.Contains("no policy applies"));
    }

    [Fact]
    public void An_enforced_policy_demands_verified_tls_to_its_mx_unless_a_static_verify_rule_decides()
    {
        var enforce = Policy("*.example.com");
        var sts = MtaStsTlsRequirement.Combine("example.com", null, enforce)!;
        Assert.Equal((TlsLevel.Verify, TlsFailureAction.Hold, TlsPolicySource.MtaSts), (sts.Level, sts.OnFailure, sts.Source));
        Assert.True(sts.AllowsHost("mx.example.com"));
        Assert.False(sts.AllowsHost("mx.other.net"));

        var strict = new TlsRequirement(TlsLevel.Verify, TlsFailureAction.Reject, "bank");
        var combined = MtaStsTlsRequirement.Combine("example.com", strict, enforce)!;
        Assert.Equal((TlsFailureAction.Reject, TlsPolicySource.Static, "bank"), (combined.OnFailure, combined.Source, combined.Rule));
        Assert.False(combined.AllowsHost("mx.other.net"));

        var weaker = new TlsRequirement(TlsLevel.Encrypt, TlsFailureAction.Reject, "partner");
        Assert.Equal(TlsPolicySource.MtaSts, MtaStsTlsRequirement.Combine("example.com", weaker, enforce)!.Source);

        var testing = enforce with { Mode = MtaStsMode.Testing };
        Assert.Same(weaker, MtaStsTlsRequirement.Combine("example.com", weaker, testing));
        Assert.Null(MtaStsTlsRequirement.Combine("example.com", null, testing));
    }

    [Fact]
    public void A_testing_policy_reports_what_enforce_would_have_stopped()
    {
        var testing = new MtaStsPolicy(MtaStsMode.Testing, ["mx.example.com"], TimeSpan.FromDays(1));
        DeliveryOutcome Outcome(string relay, string? tls, bool verified) => new([], relay, tls, null, CertificateVerified: verified);
        Assert.Null(MtaStsTlsRequirement.TestingViolation(testing, Outcome("mx.example.com[192.0.2.1]", "Tls13 x verified", true)));
        Assert.Equal("the certificate of mx.example.com did not verify",
            MtaStsTlsRequirement.TestingViolation(testing, Outcome("mx.example.com[192.0.2.1]", "Tls13 x unverified", false)));
        Assert.Equal("no TLS with mx.example.com", MtaStsTlsRequirement.TestingViolation(testing, Outcome("mx.example.com[192.0.2.1]", null, false)));
        Assert.Equal("MX host mx.other.net is not in the policy", MtaStsTlsRequirement.TestingViolation(testing, Outcome("mx.other.net[192.0.2.2]", null, false)));
    }
}
