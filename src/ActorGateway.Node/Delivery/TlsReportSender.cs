using System.Net.Http.Headers;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Delivery.TlsRpt;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using DnsClient;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Delivery;

/// <summary>Where one report went: the policy domain, the rua, whether it was handed over, and what happened.</summary>
public sealed record TlsReportSent(string Domain, string ReportId, string Rua, bool Done, string Detail);

/// <summary>
/// Sends this node's TLS reports (RFC 8460): takes the session counts since the last report, and
/// for each policy domain with a TXT _smtp._tls record sends the gzipped JSON to every rua,
/// mailto as mail through the good pool (queued like any mail), https by POST (application/tlsrpt+gzip).
/// Domains without a record get no report; their counts are dropped.
/// </summary>
public sealed class TlsReportSender(TlsSessionCounts sessions, TlsRptSettings settings, string submitter, ILookupClient dns, HttpClient http,
    GatewayMail mail, ILogger log)
{
    readonly SemaphoreSlim _one = new(1, 1);
    DateTimeOffset _since = DateTimeOffset.UtcNow;

    public async Task<IReadOnlyList<TlsReportSent>> SendAsync(CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            var end = DateTimeOffset.UtcNow;
            var start = _since;
            _since = end;
            var sent = new List<TlsReportSent>();
            foreach (var counts in sessions.TakeAll())
            {
                var record = await FindRecordAsync(counts.Domain, ct);
                if (record is null) continue;
                var report = new TlsReport(settings.Organization, settings.Contact, submitter, start, end, counts);
                foreach (var rua in record.Rua)
                {
                    var result = rua.Scheme == "mailto" ? await MailAsync(report, rua) : await PostAsync(report, rua, ct);
                    sent.Add(result);
                    log.LogInformation("TLS report {ReportId} for {Domain} to {Rua}: {Result}", report.ReportId, counts.Domain, rua, result.Detail);
                }
            }
            return sent;
        }
        finally { _one.Release(); }
    }

    async Task<TlsRptRecord?> FindRecordAsync(string domain, CancellationToken ct)
    {
        try
        {
            var answer = await dns.QueryAsync($"_smtp._tls.{domain}", QueryType.TXT, QueryClass.IN, ct);
            return answer.HasError ? null : TlsRptRecord.Find(answer.Answers.TxtRecords().Select(t => string.Concat(t.Text)));
        }
        catch (DnsResponseException) { return null; }
    }

    async Task<TlsReportSent> MailAsync(TlsReport report, Uri rua)
    {
        var to = Uri.UnescapeDataString(rua.OriginalString[7..].Split('?')[0]);
        var queueId = ActorGateway.Mail.Queue.QueueId.New();
        var why = await mail.QueueMessageAsync(queueId, settings.Sender, to, report.Mail(settings.Sender, to));
        return new TlsReportSent(report.Counts.Domain, report.ReportId, rua.ToString(), why is null, why ?? $"queued as {queueId}");
    }

    async Task<TlsReportSent> PostAsync(TlsReport report, Uri rua, CancellationToken ct)
    {
        try
        {
            using var content = new ByteArrayContent(report.Gzipped());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/tlsrpt+gzip");
            using var response = await http.PostAsync(rua, content, ct);
            return new TlsReportSent(report.Counts.Domain, report.ReportId, rua.ToString(), response.IsSuccessStatusCode, $"HTTP {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return new TlsReportSent(report.Counts.Domain, report.ReportId, rua.ToString(), false, e.Message);
        }
    }
}
