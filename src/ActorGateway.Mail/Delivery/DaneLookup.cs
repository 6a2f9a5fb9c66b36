using DnsClient;
using DnsClient.Protocol;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// Looks up an MX host's TLSA records at <c>_port._tcp.host</c> (RFC 7672 2.2). Only records
/// the resolver vouches for (AD bit: it validated them with DNSSEC) count; insecure answers
/// leave the host opportunistic. The lookup client must request DNSSEC records (DO bit).
/// </summary>
public sealed class DaneLookup(ILookupClient dns, int port)
{
    /// <param name="host">The MX host (TLSA base domain), already found through secure MX and address records.</param>
    /// <param name="domain">The recipient domain: a DANE-TA leaf may carry it instead of the MX host's name.</param>
    /// <param name="aliases">Further names the leaf may carry: the MX host's own name when <paramref name="host"/> is its CNAME target.</param>
    public async Task<DanePolicy> LookupAsync(string host, string domain, IReadOnlyList<string>? aliases = null, CancellationToken ct = default)
    {
        IReadOnlyList<string> names = [host.TrimEnd('.'), .. aliases ?? [], domain];
        var name = $"_{port}._tcp.{host.TrimEnd('.')}";
        IDnsQueryResponse response;
        try { response = await dns.QueryAsync(name, QueryType.TLSA, QueryClass.IN, ct); }
        catch (DnsResponseException e) { return Failed(name, e.Message); }

        var code = response.Header.ResponseCode;
        if (code == DnsHeaderResponseCode.NotExistentDomain) return DanePolicy.NotApplicable($"no TLSA records at {name}");
        if (response.HasError) return Failed(name, code.ToString());
        var records = response.Answers.TlsaRecords()
            .Select(r => new TlsaAssociation((byte)r.CertificateUsage, (byte)r.Selector, (byte)r.MatchingType, r.CertificateAssociationData.ToArray()))
            .ToList();
        if (records.Count == 0) return DanePolicy.NotApplicable($"no TLSA records at {name}");
        if (!response.Header.IsAuthenticData) return DanePolicy.NotApplicable($"TLSA records at {name} are not DNSSEC-validated");

        var usable = records.Where(r => r.IsUsable).ToList();
        return usable.Count > 0
            ? new DanePolicy(DaneState.Authenticate, usable, names, $"{usable.Count} usable TLSA records at {name}")
            : new DanePolicy(DaneState.EncryptOnly, [], names, $"TLSA records at {name}, none usable");
    }

    static DanePolicy Failed(string name, string why) =>
        new(DaneState.LookupFailed, [], [], $"TLSA lookup {name} failed: {why}");
}
