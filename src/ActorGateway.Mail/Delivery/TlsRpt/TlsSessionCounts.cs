using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using ActorGateway.Mail.Delivery.MtaSts;

namespace ActorGateway.Mail.Delivery.TlsRpt;

/// <summary>One kind of failed session: result type, from which gateway address, to which MX host and address.</summary>
public sealed record TlsFailureKey(string ResultType, string? SendingMtaIp, string? ReceivingMxHostname, string? ReceivingIp);

/// <summary>What a report says about one policy domain: the policy applied, successes, failures by kind.</summary>
public sealed record TlsPolicyCounts(string Domain, MtaStsPolicy? Policy, long Successful, IReadOnlyDictionary<TlsFailureKey, long> Failures);

/// <summary>
/// The TLS sessions of this node per policy domain since the last report (RFC 8460 4): counted
/// for domains with an MTA-STS policy (enforce or testing), and failed policy fetches as
/// "no-policy-found". Taken and reset at once when the report is made.
/// </summary>
public sealed partial class TlsSessionCounts
{
    sealed class Domain(MtaStsPolicy? policy)
    {
        public MtaStsPolicy? Policy = policy;
        public long Successful;
        public readonly ConcurrentDictionary<TlsFailureKey, long> Failures = new();
    }

    ConcurrentDictionary<string, Domain> _domains = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>One delivery's session under <paramref name="policy"/>; a delivery the gateway did not attempt is no session.</summary>
    public void Count(string domain, MtaStsPolicy policy, DeliveryOutcome outcome)
    {
        if (policy.Mode == MtaStsMode.None || outcome.Recipients.All(r => r.NotAttempted)) return;
        var (host, ip) = Relay(outcome);
        var diagnostic = outcome.Recipients.FirstOrDefault()?.Diagnostic ?? "";
        var mxRefused = diagnostic.Contains("allows none of the MX hosts");
        var tlsFailed = diagnostic.Contains("TLS could not be established");
        var delivered = outcome.RemoteMta is not null;
        // A server that could not be reached at all had no TLS session to report.
        if (!delivered && !mxRefused && !tlsFailed) return;
        var entry = _domains.AddOrUpdate(domain, _ => new Domain(policy), (_, d) => { d.Policy = policy; return d; });
        var mxAllowed = !mxRefused && (host is null || policy.AllowsMx(host));
        if (mxAllowed && outcome.Tls is not null && outcome.CertificateVerified) { Interlocked.Increment(ref entry.Successful); return; }
        var type = TlsRptResultType.Of(mxAllowed, delivered && outcome.Tls is null, diagnostic);
        entry.Failures.AddOrUpdate(new TlsFailureKey(type, outcome.SourceAddress, host, ip), 1, (_, n) => n + 1);
    }

    /// <summary>A policy that could not be fetched: a failed session of a domain without a policy.</summary>
    public void FetchFailed(string domain, bool invalid)
    {
        var entry = _domains.GetOrAdd(domain, _ => new Domain(null));
        entry.Failures.AddOrUpdate(new TlsFailureKey(invalid ? TlsRptResultType.StsPolicyInvalid : TlsRptResultType.StsPolicyFetchError, null, null, null),
            1, (_, n) => n + 1);
    }

    /// <summary>Everything counted so far, per domain; counting starts again from zero.</summary>
    public IReadOnlyList<TlsPolicyCounts> TakeAll()
    {
        var taken = Interlocked.Exchange(ref _domains, new ConcurrentDictionary<string, Domain>(StringComparer.OrdinalIgnoreCase));
        return taken.OrderBy(d => d.Key).Select(d => new TlsPolicyCounts(d.Key, d.Value.Policy, d.Value.Successful, d.Value.Failures.ToDictionary())).ToArray();
    }

    /// <summary>"host[ip]" of the relay, or of the first hop named in a connection error ("host[ip]:port: ...").</summary>
    static (string? Host, string? Ip) Relay(DeliveryOutcome outcome)
    {
        var text = outcome.RemoteMta ?? outcome.Recipients.FirstOrDefault()?.Diagnostic ?? "";
        var m = HostAndIp().Match(text);
        return m.Success ? (m.Groups[1].Value, m.Groups[2].Value) : (null, null);
    }

    [GeneratedRegex(@"([A-Za-z0-9.-]+)\[([0-9A-Fa-f:.]+)\]")]
    private static partial Regex HostAndIp();
}
