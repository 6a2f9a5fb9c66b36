using System.Net;

namespace ActorGateway.Mail.Tenants;

/// <summary>A customer of the gateway: who it is on the wire, and which sender domains it owns.</summary>
public sealed record Tenant(
    string Id,
    IReadOnlyList<IPNetwork> Networks,
    IReadOnlyDictionary<string, string> Users, // login -> password hash (see PasswordHash)
    IReadOnlyList<string> Domains,
    RateLimitSettings RateLimit)
{
    /// <summary>Spam score from which this tenant's mail leaves through the bad pool; null = the global threshold.</summary>
    public double? SpamThreshold { get; init; }

    /// <summary>What this tenant's relayed mail says about its servers; null = the global setting.</summary>
    public ActorGateway.Smtp.Protocol.TraceMode? TraceHeader { get; init; }

    /// <summary>Where this tenant's delivery events are POSTed; null = no events.</summary>
    public TenantWebhook? Webhook { get; init; }

    /// <summary>True when <paramref name="domain"/> is one of the tenant's domains or a subdomain of one.</summary>
    public bool OwnsDomain(string domain) =>
        Domains.Any(d => domain.Equals(d, StringComparison.OrdinalIgnoreCase)
                         || domain.EndsWith("." + d, StringComparison.OrdinalIgnoreCase));
}

/// <summary>Per-tenant rate limit: off unless enabled (the default limit is 100 mails per minute).</summary>
public sealed record RateLimitSettings(bool Enabled = false, int PerMinute = 100);
