using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace ActorGateway.Mail.Blacklists;

/// <summary>
/// Asks a DNS blacklist whether an address is listed: an A query for the reversed address
/// under the zone (RFC 5782); NXDOMAIN is "not listed"; when listed, the TXT record says why.
/// </summary>
public sealed class DnsblChecker(ILookupClient dns)
{
    public async Task<DnsblResult> CheckAsync(IPAddress address, DnsblZone zone, CancellationToken ct = default)
    {
        var name = zone.QueryName(address);
        IDnsQueryResponse response;
        try { response = await dns.QueryAsync(name, QueryType.A, QueryClass.IN, ct); }
        catch (DnsResponseException e) { return new DnsblResult(zone.Zone, address.ToString(), DnsblAnswer.Failed, null, e.Message); }
        if (response.HasError && response.Header.ResponseCode != DnsHeaderResponseCode.NotExistentDomain)
            return new DnsblResult(zone.Zone, address.ToString(), DnsblAnswer.Failed, null, response.ErrorMessage);

        var answers = response.Answers.ARecords().Select(a => a.Address).ToArray();
        var verdict = zone.Classify(answers);
        string? reason = null;
        if (verdict == DnsblAnswer.Listed)
        {
            var txt = await dns.QueryAsync(name, QueryType.TXT, QueryClass.IN, ct);
            reason = string.Join(" ", txt.Answers.TxtRecords().SelectMany(t => t.Text));
        }
        return new DnsblResult(zone.Zone, address.ToString(), verdict, answers.FirstOrDefault()?.ToString(), reason);
    }
}
