using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// Where mail for a domain goes: a configured route (like Postfix's transport map), else the
/// MX records by preference (equal preferences shuffled), else the domain's own A/AAAA
/// (the implicit MX of RFC 5321 5.1). Every host is resolved with the gateway's DNS.
/// With <paramref name="dane"/>, a host reached through DNSSEC-validated MX and address records
/// gets its TLSA records looked up (RFC 7672 2.2); routes never do, they are not the domain's choice.
/// </summary>
public sealed class NextHopResolver(ILookupClient dns, IReadOnlyDictionary<string, string> routes, int defaultPort, DaneLookup? dane = null)
{
    public async Task<NextHopResolution> ResolveAsync(string domain, CancellationToken ct = default)
    {
        if (FindRoute(domain) is { } route) return await ResolveRouteAsync(route, ct);
        if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            var literal = domain[1..^1];
            if (literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)) literal = literal[5..];
            return IPAddress.TryParse(literal, out var ip)
                ? new NextHopResolution(ResolutionKind.Resolved, [new NextHop(literal, defaultPort, [ip], 0)], "address literal")
                : NextHopResolution.Permanent("bad address literal");
        }

        var mx = await QueryAsync(domain, QueryType.MX, ct);
        if (mx.Failure is { } failure) return failure;
        var records = mx.Response!.Answers.MxRecords().ToList();
        var mxSecure = mx.Response.Header.IsAuthenticData;
        if (records.Any(r => r.Exchange.Value is "." or ""))
            return NextHopResolution.Permanent($"{domain} does not accept mail (null MX)");

        if (records.Count == 0)
        {
            var self = await AddressesAsync(domain, ct);
            if (self.Failure is { } f2) return f2;
            return self.Addresses.Count == 0
                ? NextHopResolution.Permanent($"no MX or address record for {domain}")
                : new NextHopResolution(ResolutionKind.Resolved,
                    [new NextHop(domain, defaultPort, self.Addresses, 0, await DaneAsync(domain, self.Canonical, domain, mxSecure && self.Secure, ct))], "implicit MX");
        }

        var hops = new List<NextHop>();
        var anyTemporary = false;
        foreach (var group in records.GroupBy(r => r.Preference).OrderBy(g => g.Key))
            foreach (var r in group.OrderBy(_ => Random.Shared.Next()))
            {
                var host = r.Exchange.Value.TrimEnd('.');
                var a = await AddressesAsync(host, ct);
                if (a.Failure is not null) { anyTemporary |= a.Failure.Kind == ResolutionKind.TemporaryFailure; continue; }
                if (a.Addresses.Count > 0)
                    hops.Add(new NextHop(host, defaultPort, a.Addresses, r.Preference, await DaneAsync(host, a.Canonical, domain, mxSecure && a.Secure, ct)));
            }
        if (hops.Count > 0) return new NextHopResolution(ResolutionKind.Resolved, hops, "MX");
        return anyTemporary ? NextHopResolution.Temporary($"MX hosts of {domain} did not resolve")
                            : NextHopResolution.Permanent($"MX hosts of {domain} have no addresses");
    }

    /// <summary>Whether a configured route, not DNS, decides where the domain's mail goes.</summary>
    public bool HasRoute(string domain) => FindRoute(domain) is not null;

    /// <summary>
    /// The host's TLSA policy, only when everything that led to it was DNSSEC-validated (RFC 7672
    /// 2.2.1, 2.2.2). A host that is an alias is looked up at its CNAME target first, then at its
    /// own name (2.2.3).
    /// </summary>
    async Task<DanePolicy?> DaneAsync(string host, string? canonical, string domain, bool secure, CancellationToken ct)
    {
        if (dane is null || !secure) return null;
        if (canonical is not null && !canonical.Equals(host, StringComparison.OrdinalIgnoreCase))
        {
            var expanded = await dane.LookupAsync(canonical, domain, [host], ct);
            if (expanded.State != DaneState.NotApplicable) return expanded;
        }
        return await dane.LookupAsync(host, domain, null, ct);
    }

    string? FindRoute(string domain)
    {
        // Exact domain first, then parent domains written as ".example.com".
        if (routes.TryGetValue(domain.ToLowerInvariant(), out var r)) return r;
        for (var d = domain.ToLowerInvariant(); d.Contains('.'); d = d[(d.IndexOf('.') + 1)..])
            if (routes.TryGetValue("." + d[(d.IndexOf('.') + 1)..], out r)) return r;
        return null;
    }

    async Task<NextHopResolution> ResolveRouteAsync(string route, CancellationToken ct)
    {
        // "host:port", "[1.2.3.4]:port" or "host" (port = default)
        var host = route; var port = defaultPort;
        var colon = route.LastIndexOf(':');
        if (colon > 0 && route.IndexOf(':') == colon && int.TryParse(route[(colon + 1)..], out var p)) { host = route[..colon]; port = p; }
        host = host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var ip)) return new NextHopResolution(ResolutionKind.Resolved, [new NextHop(host, port, [ip], 0)], "route");
        var a = await AddressesAsync(host, ct);
        if (a.Failure is { } f) return f;
        return a.Addresses.Count == 0 ? NextHopResolution.Temporary($"route host {host} has no address")
                                      : new NextHopResolution(ResolutionKind.Resolved, [new NextHop(host, port, a.Addresses, 0)], "route");
    }

    /// <summary>The host's addresses; Secure when every answer was DNSSEC-validated; Canonical: its CNAME target, if it is an alias.</summary>
    async Task<(IReadOnlyList<IPAddress> Addresses, NextHopResolution? Failure, bool Secure, string? Canonical)> AddressesAsync(string host, CancellationToken ct)
    {
        if (IPAddress.TryParse(host, out var literal)) return ([literal], null, false, null);
        var list = new List<IPAddress>();
        var secure = true;
        string? canonical = null;
        foreach (var type in new[] { QueryType.A, QueryType.AAAA })
        {
            var q = await QueryAsync(host, type, ct);
            if (q.Failure is { Kind: ResolutionKind.TemporaryFailure } t) return ([], t, false, null);
            if (q.Response is null) { secure = false; continue; }
            secure &= q.Response.Header.IsAuthenticData;
            canonical ??= q.Response.Answers.CnameRecords().LastOrDefault()?.CanonicalName.Value.TrimEnd('.');
            list.AddRange(q.Response.Answers.ARecords().Select(r => r.Address));
            list.AddRange(q.Response.Answers.AaaaRecords().Select(r => r.Address));
        }
        return (list, null, secure, canonical);
    }

    async Task<(IDnsQueryResponse? Response, NextHopResolution? Failure)> QueryAsync(string name, QueryType type, CancellationToken ct)
    {
        try
        {
            var r = await dns.QueryAsync(name, type, QueryClass.IN, ct);
            if (!r.HasError) return (r, null);
            return r.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain
                ? (null, NextHopResolution.Permanent($"{name}: no such domain"))
                : (null, NextHopResolution.Temporary($"{name}: DNS error {r.Header.ResponseCode}"));
        }
        catch (DnsResponseException e) { return (null, NextHopResolution.Temporary($"{name}: {e.Message}")); }
    }
}
