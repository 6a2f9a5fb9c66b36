using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Delivery.MtaSts;
using ActorGateway.Node.Configuration;
using DnsClient;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Delivery;

/// <summary>The node's MTA-STS policies from its settings: fetched with its DNS and trust anchors, reported in its log.</summary>
public static class MtaStsSetup
{
    public static MtaStsPolicies? Create(DeliverySettings delivery, ILookupClient dns, NextHopResolver resolver, ILoggerFactory loggers,
        ActorGateway.Mail.Delivery.TlsRpt.TlsSessionCounts? sessions)
    {
        if (!delivery.MtaSts.Enabled) return null;
        var s = delivery.MtaSts;
        var fetcher = new MtaStsFetcher(dns, delivery.Trust, s.PolicyPort, s.FetchTimeout, s.MaxPolicySize);
        var log = loggers.CreateLogger("ActorGateway.Delivery.MtaSts");
        // A route (the operator's transport map) decides the next hop itself: no policy applies to it.
        return new MtaStsPolicies(
            (domain, ct) => resolver.HasRoute(domain) ? Task.FromResult<MtaStsRecord?>(null) : fetcher.FindRecordAsync(domain, ct),
            fetcher.FetchPolicyAsync, TimeProvider.System, line => log.LogWarning("{Report}", line)) { Sessions = sessions };
    }
}
