using DnsClient;
using DnsClient.Protocol;

namespace ActorGateway.Mail.Checks;

public enum SenderDomainVerdict { Resolves, DoesNotResolve, TemporaryFailure }

/// <summary>
/// The sender domain must be able to receive replies: it needs an MX record, else an A or
/// AAAA record (RFC 5321 5.1). NXDOMAIN or no such records is permanent; a timeout or
/// SERVFAIL is temporary and must never become a 550.
/// </summary>
public sealed class SenderDomainCheck(ILookupClient dns)
{
    public async Task<SenderDomainVerdict> CheckAsync(string domain, CancellationToken ct = default)
    {
        if (domain.StartsWith('[')) return SenderDomainVerdict.Resolves; // address literal: nothing to look up
        foreach (var type in new[] { QueryType.MX, QueryType.A, QueryType.AAAA })
        {
            IDnsQueryResponse response;
            try { response = await dns.QueryAsync(domain, type, QueryClass.IN, ct); }
            catch (DnsResponseException) { return SenderDomainVerdict.TemporaryFailure; }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return SenderDomainVerdict.TemporaryFailure; }

            if (response.HasError)
            {
                if (response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain) return SenderDomainVerdict.DoesNotResolve;
                return SenderDomainVerdict.TemporaryFailure;
            }
            if (type == QueryType.MX && response.Answers.MxRecords().Any(mx => IsNullMx(mx)))
                return SenderDomainVerdict.DoesNotResolve; // RFC 7505: the domain accepts no mail
            if (response.Answers.Any(r => r.RecordType == (ResourceRecordType)type)) return SenderDomainVerdict.Resolves;
        }
        return SenderDomainVerdict.DoesNotResolve;
    }

    static bool IsNullMx(MxRecord mx) => mx.Exchange.Value is "." or "";
}
