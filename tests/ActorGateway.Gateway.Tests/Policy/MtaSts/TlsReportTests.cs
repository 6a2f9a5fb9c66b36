using System.IO.Compression;
using System.Text.Json;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Delivery.MtaSts;
using ActorGateway.Mail.Delivery.TlsRpt;
using MimeKit;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>TLS-RPT (RFC 8460): the TXT record, session counting by result type, and the report's JSON, gzip and mail.</summary>
public sealed class TlsReportTests
{
    static readonly MtaStsPolicy Enforce = new(MtaStsMode.Enforce, ["mx1.example.com", "*.mx.example.com"], TimeSpan.FromDays(1));

    [Theory]
    [InlineData("v=TLSRPTv1; rua=mailto:tlsrpt@example.com", new[] { "mailto:tlsrpt@example.com" })]
    [InlineData("v=TLSRPTv1;rua=mailto:a@example.com,https://reports.example.com/v1", new[] { "mailto:a@example.com", "https://reports.example.com/v1" })]
    [InlineData("v=TLSRPTv1; rua=http://insecure.example.com/, mailto:b@example.com", new[] { "mailto:b@example.com" })] // only mailto and https
    public void The_record_names_its_rua(string txt, string[] rua) =>
        Assert.Equal(rua, TlsRptRecord.Find([txt])!.Rua.Select(u => u.OriginalString));

    [Theory]
    [InlineData("v=TLSRPTv2; rua=mailto:a@example.com")]
    [InlineData("rua=mailto:a@example.com; v=TLSRPTv1")]
    [InlineData("v=TLSRPTv1;")]
    [InlineData("v=TLSRPTv1; rua=ftp://example.com/")]
    public void Malformed_records_give_none(string txt) => Assert.Null(TlsRptRecord.Find([txt]));

    [Fact]
    public void Two_records_give_none() => Assert.Null(TlsRptRecord.Find(["v=TLSRPTv1; rua=mailto:a@x.example", "v=TLSRPTv1; rua=mailto:b@x.example"]));

    static DeliveryOutcome Delivered(string relay, string? tls, bool verified) =>
        new([new RecipientOutcome("r@example.com", RecipientStatus.Delivered, "2.0.0", "smtp; 250 ok", relay)], relay, tls, "192.0.2.9", TlsPolicySource.MtaSts, verified);

    static DeliveryOutcome Refused(string diagnostic) =>
        new([new RecipientOutcome("r@example.com", RecipientStatus.Deferred, "4.7.5", diagnostic, null)], null, null, "192.0.2.9", TlsPolicySource.MtaSts);

    [Fact]
    public void Sessions_are_counted_as_successes_and_failures_by_result_type()
    {
        var counts = new TlsSessionCounts();
        counts.Count("example.com", Enforce, Delivered("mx1.example.com[192.0.2.1]", "Tls13 x verified", true));
        counts.Count("example.com", Enforce, Delivered("mx1.example.com[192.0.2.1]", "Tls13 x verified", true));
        counts.Count("example.com", Enforce, Refused("x-gateway; TLS could not be established: mx1.example.com[192.0.2.1]:25: TLS required by policy MTA-STS of example.com: The SMTP server does not support the STARTTLS extension."));
        counts.Count("example.com", Enforce, Refused("x-gateway; TLS could not be established: a.mx.example.com[192.0.2.2]:25: TLS required by policy MTA-STS of example.com: ... The host name (a.mx.example.com) did not match the name given in the server's SSL certificate (other.example)."));
        counts.Count("example.com", Enforce, Refused("x-gateway; TLS could not be established: a.mx.example.com[192.0.2.2]:25: TLS required by policy MTA-STS of example.com: ... The root certificate has not been trusted"));
        counts.Count("example.com", Enforce, Refused("x-gateway; policy MTA-STS of example.com allows none of the MX hosts (mx.other.net)"));
        counts.Count("example.com", Enforce, Refused("x-gateway; connection failed: mx1.example.com[192.0.2.1]:25: Connection refused")); // no TLS session
        counts.Count("example.com", Enforce with { Mode = MtaStsMode.Testing }, Delivered("mx1.example.com[192.0.2.1]", null, false)); // testing, plaintext
        counts.FetchFailed("broken.example", invalid: false);

        var all = counts.TakeAll();
        Assert.Empty(counts.TakeAll()); // taken means reset
        var example = all.Single(c => c.Domain == "example.com");
        Assert.Equal(2, example.Successful);
        Assert.Equal(new Dictionary<string, long>
        {
            [TlsRptResultType.StartTlsNotSupported] = 2, [TlsRptResultType.CertificateHostMismatch] = 1,
            [TlsRptResultType.CertificateNotTrusted] = 1, [TlsRptResultType.ValidationFailure] = 1,
        }, example.Failures.GroupBy(f => f.Key.ResultType).ToDictionary(g => g.Key, g => g.Sum(f => f.Value)));
        var mismatch = example.Failures.Keys.Single(k => k.ResultType == TlsRptResultType.CertificateHostMismatch);
        Assert.Equal(("192.0.2.9", "a.mx.example.com", "192.0.2.2"), (mismatch.SendingMtaIp, mismatch.ReceivingMxHostname, mismatch.ReceivingIp));
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, all.Single(c => c.Domain == "broken.example").Failures.Keys.Single().ResultType);
    }

    static TlsReport Report()
    {
        var counts = new TlsSessionCounts();
        counts.Count("example.com", Enforce, Delivered("mx1.example.com[192.0.2.1]", "Tls13 x verified", true));
        counts.Count("example.com", Enforce, Refused("x-gateway; TLS could not be established: mx1.example.com[192.0.2.1]:25: TLS required by policy MTA-STS of example.com: The SMTP server does not support the STARTTLS extension."));
        return new TlsReport("Gateway Org", "mailto:postmaster@gw.example", "gw.example",
            new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero), counts.TakeAll().Single());
    }

    /// <summary>The fields RFC 8460 4.3/4.4 requires, with the types its schema gives them.</summary>
    internal static void AssertRfc8460Report(JsonElement report, string domain, int minSuccessful, string? failureType)
    {
        Assert.Equal(JsonValueKind.String, report.GetProperty("organization-name").ValueKind);
        Assert.True(DateTimeOffset.TryParse(report.GetProperty("date-range").GetProperty("start-datetime").GetString(), out _));
        Assert.True(DateTimeOffset.TryParse(report.GetProperty("date-range").GetProperty("end-datetime").GetString(), out _));
        Assert.Equal(JsonValueKind.String, report.GetProperty("contact-info").ValueKind);
        Assert.Equal(JsonValueKind.String, report.GetProperty("report-id").ValueKind);
        var policy = Assert.Single(report.GetProperty("policies").EnumerateArray());
        Assert.Equal("sts", policy.GetProperty("policy").GetProperty("policy-type").GetString());
        Assert.Equal(domain, policy.GetProperty("policy").GetProperty("policy-domain").GetString());
        Assert.Equal("version: STSv1", policy.GetProperty("policy").GetProperty("policy-string")[0].GetString());
        Assert.Equal(JsonValueKind.Array, policy.GetProperty("policy").GetProperty("mx-host").ValueKind);
        var summary = policy.GetProperty("summary");
        Assert.True(summary.GetProperty("total-successful-session-count").GetInt64() >= minSuccessful);
        var failures = policy.GetProperty("failure-details").EnumerateArray().ToList();
        Assert.Equal(summary.GetProperty("total-failure-session-count").GetInt64(), failures.Sum(f => f.GetProperty("failed-session-count").GetInt64()));
        if (failureType is not null) Assert.Contains(failures, f => f.GetProperty("result-type").GetString() == failureType);
    }

    [Fact]
    public void The_report_has_the_rfc_8460_fields_and_is_gzipped()
    {
        var report = Report();
        using var gzip = new GZipStream(new MemoryStream(report.Gzipped()), CompressionMode.Decompress);
        using var json = JsonDocument.Parse(gzip);
        AssertRfc8460Report(json.RootElement, "example.com", 1, TlsRptResultType.StartTlsNotSupported);
        Assert.Equal("2026-01-01T00:00:00Z", json.RootElement.GetProperty("date-range").GetProperty("start-datetime").GetString());
        Assert.Matches(@"^gw\.example!example\.com!1767225600!1767312000!\w+\.json\.gz$", report.FileName);
    }

    [Fact]
    public void The_mail_is_a_multipart_report_of_type_tlsrpt_with_the_gzipped_json()
    {
        var report = Report();
        var mail = report.Mail("tlsrpt-noreply@gw.example", "tlsrpt@example.com");
        Assert.Equal($"Report Domain: example.com Submitter: gw.example Report-ID: <{report.ReportId}>", mail.Subject);
        Assert.Equal("example.com", mail.Headers["TLS-Report-Domain"]);
        Assert.Equal("gw.example", mail.Headers["TLS-Report-Submitter"]);
        var body = Assert.IsType<MultipartReport>(mail.Body);
        Assert.Equal("tlsrpt", body.ReportType);
        var part = Assert.Single(body.OfType<MimePart>(), p => p.ContentType.MimeType == "application/tlsrpt+gzip");
        Assert.Equal(report.FileName, part.FileName);
    }
}
