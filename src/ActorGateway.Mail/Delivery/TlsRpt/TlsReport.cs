using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorGateway.Mail.Delivery.MtaSts;
using MimeKit;

namespace ActorGateway.Mail.Delivery.TlsRpt;

/// <summary>
/// One daily TLS report for one policy domain (RFC 8460 4): the JSON, gzipped, its file name, and
/// the mail that carries it to a mailto rua (RFC 8460 5.3: multipart/report; report-type=tlsrpt).
/// </summary>
public sealed record TlsReport(string Organization, string Contact, string Submitter, DateTimeOffset Start, DateTimeOffset End, TlsPolicyCounts Counts)
{
    readonly string _unique = Guid.NewGuid().ToString("N")[..12];

    public string ReportId => $"{Start.UtcDateTime:yyyyMMddHHmmss}.{Counts.Domain}.{_unique}@{Submitter}";

    public JsonObject Json()
    {
        var policy = Counts.Policy;
        var policyNode = policy is null
            ? new JsonObject { ["policy-type"] = "no-policy-found", ["policy-domain"] = Counts.Domain }
            : new JsonObject
            {
                ["policy-type"] = "sts",
                ["policy-string"] = new JsonArray([.. PolicyLines(policy).Select(l => (JsonNode)l!)]),
                ["policy-domain"] = Counts.Domain,
                ["mx-host"] = new JsonArray([.. policy.Mx.Select(m => (JsonNode)m!)]),
            };
        return new JsonObject
        {
            ["organization-name"] = Organization,
            ["date-range"] = new JsonObject { ["start-datetime"] = Start.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"), ["end-datetime"] = End.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ") },
            ["contact-info"] = Contact,
            ["report-id"] = ReportId,
            ["policies"] = new JsonArray(new JsonObject
            {
                ["policy"] = policyNode,
                ["summary"] = new JsonObject
                {
                    ["total-successful-session-count"] = Counts.Successful,
                    ["total-failure-session-count"] = Counts.Failures.Values.Sum(),
                },
                ["failure-details"] = new JsonArray([.. Counts.Failures.OrderBy(f => f.Key.ResultType).Select(f => (JsonNode)Detail(f.Key, f.Value))]),
            }),
        };
    }

    static JsonObject Detail(TlsFailureKey key, long count)
    {
        var o = new JsonObject { ["result-type"] = key.ResultType };
        if (key.SendingMtaIp is not null) o["sending-mta-ip"] = key.SendingMtaIp;
        if (key.ReceivingMxHostname is not null) o["receiving-mx-hostname"] = key.ReceivingMxHostname;
        if (key.ReceivingIp is not null) o["receiving-ip"] = key.ReceivingIp;
        o["failed-session-count"] = count;
        return o;
    }

    static IEnumerable<string> PolicyLines(MtaStsPolicy policy) =>
        [ "version: STSv1", $"mode: {policy.Mode.ToString().ToLowerInvariant()}", .. policy.Mx.Select(m => $"mx: {m}"), $"max_age: {(long)policy.MaxAge.TotalSeconds}" ];

    /// <summary>RFC 8460 5.1: sender!policy-domain!begin!end!unique-id.json.gz (times as Unix seconds).</summary>
    public string FileName => $"{Submitter}!{Counts.Domain}!{Start.ToUnixTimeSeconds()}!{End.ToUnixTimeSeconds()}!{_unique}.json.gz";

    public byte[] Gzipped()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
            gzip.Write(JsonSerializer.SerializeToUtf8Bytes(Json()));
        return buffer.ToArray();
    }

    /// <summary>The report as mail (RFC 8460 5.3) from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public MimeMessage Mail(string from, string to)
    {
        var message = new MimeMessage { Subject = $"Report Domain: {Counts.Domain} Submitter: {Submitter} Report-ID: <{ReportId}>", Date = DateTimeOffset.UtcNow };
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Headers.Add("TLS-Report-Domain", Counts.Domain);
        message.Headers.Add("TLS-Report-Submitter", Submitter);
        var report = new MultipartReport("tlsrpt");
        report.Add(new TextPart("plain") { Text = $"This is an aggregate TLS report from {Submitter} for {Counts.Domain}.\n" });
        report.Add(new MimePart("application", "tlsrpt+gzip")
        {
            Content = new MimeContent(new MemoryStream(Gzipped())),
            ContentTransferEncoding = ContentEncoding.Base64,
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            FileName = FileName,
        });
        message.Body = report;
        return message;
    }
}
