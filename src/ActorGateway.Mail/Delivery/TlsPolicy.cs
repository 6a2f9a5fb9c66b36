namespace ActorGateway.Mail.Delivery;

public enum TlsLevel { Encrypt, Verify }
public enum TlsFailureAction { Hold, Reject }

/// <summary>
/// What a rule demands for one delivery: TLS (optionally verified) or else hold/reject.
/// <paramref name="Source"/>: which kind of policy demands it; <paramref name="MxPatterns"/>: the
/// only MX hosts it allows (an MTA-STS policy's mx patterns; null = any).
/// </summary>
public sealed record TlsRequirement(TlsLevel Level, TlsFailureAction OnFailure, string Rule,
    TlsPolicySource Source = TlsPolicySource.Static, IReadOnlyList<string>? MxPatterns = null)
{
    public bool AllowsHost(string host) => MxPatterns is null || MtaSts.MxPattern.MatchesAny(MxPatterns, host);

    /// <summary>The hops this requirement lets the delivery use, in their order.</summary>
    public IReadOnlyList<NextHop> AllowedHops(IReadOnlyList<NextHop> hops) => MxPatterns is null ? hops : hops.Where(h => AllowsHost(h.Host)).ToArray();
}

/// <summary>A forced-TLS rule keyed by sender domain, recipient domain, or both (null = any).</summary>
public sealed record TlsRule(string Name, string? SenderDomain, string? RecipientDomain, TlsLevel Level, TlsFailureAction OnFailure);

/// <summary>
/// Forced TLS to the receiving server. The first rule whose keys all match decides; without
/// a matching rule TLS is opportunistic (used when offered, certificate not checked).
/// A domain key matches the domain and its subdomains.
/// </summary>
public sealed class TlsPolicy(IReadOnlyList<TlsRule> rules)
{
    public static TlsPolicy None { get; } = new([]);

    public TlsRequirement? Find(string senderDomain, string recipientDomain)
    {
        foreach (var r in rules)
            if (Matches(r.SenderDomain, senderDomain) && Matches(r.RecipientDomain, recipientDomain))
                return new TlsRequirement(r.Level, r.OnFailure, r.Name);
        return null;
    }

    static bool Matches(string? key, string domain) =>
        key is null || domain.Equals(key, StringComparison.OrdinalIgnoreCase) || domain.EndsWith("." + key, StringComparison.OrdinalIgnoreCase);
}
