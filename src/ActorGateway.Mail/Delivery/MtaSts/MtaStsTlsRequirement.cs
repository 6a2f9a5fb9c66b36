namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>
/// What a delivery must meet when a domain's MTA-STS policy and the static rules (gateway.tls-policy)
/// both have a say. An enforced policy demands verified TLS to one of its MX hosts, else the mail
/// waits (RFC 8461 5); a static verify rule is at least as strict, so its name and its failure
/// action (reject included) decide, with the policy's MX hosts. A testing policy changes nothing.
/// </summary>
public static class MtaStsTlsRequirement
{
    public static TlsRequirement? Combine(string domain, TlsRequirement? staticRule, MtaStsPolicy? policy)
    {
        if (policy is not { Mode: MtaStsMode.Enforce }) return staticRule;
        if (staticRule is { Level: TlsLevel.Verify }) return staticRule with { MxPatterns = policy.Mx };
        return new TlsRequirement(TlsLevel.Verify, TlsFailureAction.Hold, $"MTA-STS of {domain}", TlsPolicySource.MtaSts, policy.Mx);
    }

    /// <summary>
    /// What a delivery that was made under a testing policy did not meet (null: nothing): an MX host
    /// the policy does not name, or no TLS with a verified certificate.
    /// </summary>
    public static string? TestingViolation(MtaStsPolicy policy, DeliveryOutcome outcome)
    {
        if (policy.Mode != MtaStsMode.Testing || outcome.RemoteMta is null) return null;
        var host = outcome.RemoteMta.Split('[')[0];
        if (!policy.AllowsMx(host)) return $"MX host {host} is not in the policy";
        if (outcome.Tls is null) return $"no TLS with {host}";
        return outcome.CertificateVerified ? null : $"the certificate of {host} did not verify";
    }
}
