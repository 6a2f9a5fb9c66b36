using System.Text.Json;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd.Tls;

/// <summary>
/// MTA-STS (RFC 8461) against the real node: dnsmasq publishes MX, TXT _mta-sts and the policy
/// hosts; one HTTPS server (Kestrel, certificates from a test CA the node trusts through
/// gateway.delivery.tls.ca-file) serves each domain's policy; three aiosmtpd receivers share the
/// delivery port on their own addresses: mx1 with a certificate for its name, mx2 with one for
/// another name, mx3 without STARTTLS.
/// </summary>
public sealed class MtaStsTests(MtaStsTests.Bed bed) : IClassFixture<MtaStsTests.Bed>
{
    const string Mx1 = "127.0.0.21", Mx2 = "127.0.0.22", Mx3 = "127.0.0.23";

    /// <summary>A domain with an MX host and an MTA-STS TXT record (policy id <paramref name="id"/>) whose policy host is the test server.</summary>
    static string[] Domain(string domain, string mx, string id = "1") =>
    [
        $"mx-host={domain},{mx},10", $"txt-record=_mta-sts.{domain},\"v=STSv1; id={id}\"", $"host-record=mta-sts.{domain},127.0.0.1",
    ];

    static readonly string[] Hosts = [$"host-record=mx1.sts.example,{Mx1}", $"host-record=mx2.sts.example,{Mx2}", $"host-record=mx3.sts.example,{Mx3}"];

    static readonly string[] Records =
    [
        .. Hosts,
        .. Domain("enforce-good.example", "mx1.sts.example"),
        .. Domain("enforce-unlisted.example", "mx1.sts.example"),
        .. Domain("enforce-wrongcert.example", "mx2.sts.example"),
        .. Domain("enforce-plain.example", "mx3.sts.example"),
        .. Domain("testing-wrongcert.example", "mx2.sts.example"),
        .. Domain("fetch-badcert.example", "mx3.sts.example"),
        .. Domain("fetch-404.example", "mx3.sts.example"),
        .. Domain("fetch-redirect.example", "mx3.sts.example"),
        .. Domain("fetch-html.example", "mx3.sts.example"),
        .. Domain("fetch-large.example", "mx3.sts.example"),
        .. Domain("static-reject.example", "mx2.sts.example"),
    ];

    public sealed class Bed : IAsyncLifetime
    {
        public TestCertificateAuthority Ca { get; } = new();
        public MtaStsPolicyHost PolicyHost { get; private set; } = null!;
        public GatewayTestbed Testbed { get; private set; } = null!;
        readonly List<TestMailReceiver> _receivers = [];
        readonly List<TestCertificate> _certificates = [];
        public TestMailReceiver Good { get; private set; } = null!;
        public TestMailReceiver WrongName { get; private set; } = null!;
        public TestMailReceiver Plain { get; private set; } = null!;
        /// <summary>The records published besides cached.example's.</summary>
        public string[] Dns { get; private set; } = [];

        public async Task InitializeAsync()
        {
            PolicyHost = await MtaStsPolicyHost.StartAsync(Ca, Records.Where(r => r.StartsWith("txt-record=_mta-sts.")).Select(r => r[20..r.IndexOf(',')])
                .Append("cached.example"), "reports.sts.example");
            // Where the TLS reports of two domains go: by mail to the test receiver, by HTTPS to the policy host.
            Dns = [.. Records, "host-record=reports.sts.example,127.0.0.1",
                "txt-record=_smtp._tls.enforce-good.example,\"v=TLSRPTv1; rua=mailto:tlsrpt@rcpt.example\"",
                $"txt-record=_smtp._tls.enforce-wrongcert.example,\"v=TLSRPTv1; rua=https://reports.sts.example:{PolicyHost.Port}/tlsrpt\""];
            Testbed = await GatewayTestbed.StartAsync(extraDns: [.. Dns, .. Domain("cached.example", "mx1.sts.example")], extraHocon: $$"""
                gateway.delivery.tls.ca-file = "{{Ca.CertificatePath}}"
                gateway.delivery.mta-sts { policy-port = {{PolicyHost.Port}}, fetch-timeout = 15s, max-policy-size = 1024 }
                gateway.tls-policy = [ { name = bank, recipient-domain = "static-reject.example", level = verify, on-failure = reject } ]
                """);
            var port = Testbed.DeliveryPort;
            TestCertificate Issued(string name) { var c = Ca.Issue(name); _certificates.Add(c); return c; }
            Good = await TestMailReceiver.StartAsync(Mx1, port, Issued("mx1.sts.example"));
            WrongName = await TestMailReceiver.StartAsync(Mx2, port, Issued("someone-else.example"));
            Plain = await TestMailReceiver.StartAsync(Mx3, port);
            _receivers.AddRange([Good, WrongName, Plain]);
        }

        public async Task DisposeAsync()
        {
            await Testbed.DisposeAsync();
            foreach (var r in _receivers) await r.DisposeAsync();
            await PolicyHost.DisposeAsync();
            foreach (var c in _certificates) c.Dispose();
            Ca.Dispose();
        }
    }

    GatewayTestbed T => bed.Testbed;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    async Task<string> SendAsync(string rcpt)
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", rcpt);
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        return swaks.QueueId();
    }

    /// <summary>Waits until the API shows the recipient's answer with <paramref name="status"/> (Delivered, Deferred, Failed).</summary>
    async Task<JsonElement> ResultAsync(string id, string rcpt, string status)
    {
        JsonElement? last = null;
        await Eventually.WaitAsync(async () => (last = await T.RecipientResultAsync(id, rcpt)) is { } r && r.GetProperty("status").GetString() == status,
            Wait, () => $"{id} <{rcpt}>: no {status} answer; last: {last?.ToString() ?? "none"}\n" +
                  string.Join("\n", T.Gateway.Output.Split('\n').Where(l => l.Contains(id) || l.Contains("MTA-STS"))));
        return last!.Value;
    }

    static void AssertPolicy(JsonElement result, string policy, bool verified)
    {
        Assert.Equal(policy, result.GetProperty("policy").GetString());
        Assert.Equal(verified, result.GetProperty("certificateVerified").GetBoolean());
    }

    [Fact]
    public async Task Enforce_delivers_over_verified_tls_to_a_listed_mx_and_says_so()
    {
        bed.PolicyHost.Serve("enforce-good.example", MtaStsPolicyHost.Policy("enforce", "mx1.sts.example"));
        var rcpt = $"bob-{Guid.NewGuid():N}@enforce-good.example";
        var id = await SendAsync(rcpt);
        var got = Assert.Single(await bed.Good.WaitForAsync(1, Wait, m => m.Recipients.Contains(rcpt)));
        Assert.True(got.Tls);
        AssertPolicy(await ResultAsync(id, rcpt, "Delivered"), "MtaSts", verified: true);
        await T.Gateway.WaitForLogAsync($@"{id}: .* to=<{rcpt}> status=delivered .* tls=Tls1[23] \S+ verified policy=mta-sts verified=yes");
        Assert.Contains("mta-sts.enforce-good.example", bed.PolicyHost.Requests);
    }

    [Fact]
    public async Task Enforce_defers_when_the_policy_names_none_of_the_mx_hosts()
    {
        bed.PolicyHost.Serve("enforce-unlisted.example", MtaStsPolicyHost.Policy("enforce", "mx9.sts.example", "*.elsewhere.example"));
        var rcpt = $"bob-{Guid.NewGuid():N}@enforce-unlisted.example";
        var id = await SendAsync(rcpt);
        var result = await ResultAsync(id, rcpt, "Deferred");
        Assert.Equal("4.7.5", result.GetProperty("statusCode").GetString());
        Assert.Contains("policy MTA-STS of enforce-unlisted.example allows none of the MX hosts (mx1.sts.example)", result.GetProperty("diagnostic").GetString());
        AssertPolicy(result, "MtaSts", verified: false);
        Assert.DoesNotContain(bed.Good.Messages(), m => m.Recipients.Contains(rcpt));
    }

    [Fact]
    public async Task Enforce_defers_when_the_certificate_is_for_another_name()
    {
        bed.PolicyHost.Serve("enforce-wrongcert.example", MtaStsPolicyHost.Policy("enforce", "*.sts.example"));
        var rcpt = $"bob-{Guid.NewGuid():N}@enforce-wrongcert.example";
        var id = await SendAsync(rcpt);
        var result = await ResultAsync(id, rcpt, "Deferred");
        Assert.Equal("4.7.5", result.GetProperty("statusCode").GetString());
        Assert.Contains("TLS could not be established", result.GetProperty("diagnostic").GetString());
        Assert.Contains("MTA-STS of enforce-wrongcert.example", result.GetProperty("diagnostic").GetString());
        AssertPolicy(result, "MtaSts", verified: false);
        Assert.DoesNotContain(bed.WrongName.Messages(), m => m.Recipients.Contains(rcpt));
    }

    [Fact]
    public async Task Enforce_defers_when_the_mx_offers_no_starttls_and_never_sends_in_plaintext()
    {
        bed.PolicyHost.Serve("enforce-plain.example", MtaStsPolicyHost.Policy("enforce", "mx3.sts.example"));
        var rcpt = $"bob-{Guid.NewGuid():N}@enforce-plain.example";
        var id = await SendAsync(rcpt);
        var result = await ResultAsync(id, rcpt, "Deferred");
        Assert.Equal("4.7.5", result.GetProperty("statusCode").GetString());
        Assert.Contains("TLS could not be established", result.GetProperty("diagnostic").GetString());
        AssertPolicy(result, "MtaSts", verified: false);
        Assert.DoesNotContain(bed.Plain.Messages(), m => m.Recipients.Contains(rcpt));
    }

    [Fact]
    public async Task Testing_mode_delivers_despite_a_wrong_certificate_and_reports_it()
    {
        bed.PolicyHost.Serve("testing-wrongcert.example", MtaStsPolicyHost.Policy("testing", "*.sts.example"));
        var rcpt = $"bob-{Guid.NewGuid():N}@testing-wrongcert.example";
        var id = await SendAsync(rcpt);
        Assert.Single(await bed.WrongName.WaitForAsync(1, Wait, m => m.Recipients.Contains(rcpt)));
        AssertPolicy(await ResultAsync(id, rcpt, "Delivered"), "None", verified: false);
        await T.Gateway.WaitForLogAsync(
            $@"{id}: MTA-STS policy of testing-wrongcert\.example \(testing\) not met, delivered anyway: the certificate of mx2\.sts\.example did not verify");
    }

    [Theory]
    [InlineData("fetch-badcert.example", "certificate")]
    [InlineData("fetch-404.example", "HTTP 404")]
    [InlineData("fetch-redirect.example", "HTTP 301")]
    [InlineData("fetch-html.example", "Content-Type text/html, not text/plain")]
    [InlineData("fetch-large.example", "larger than 1024 bytes")]
    public async Task A_policy_that_cannot_be_fetched_applies_no_policy(string domain, string why)
    {
        // Each would forbid mx3 (no STARTTLS) if it applied.
        var enforce = MtaStsPolicyHost.Policy("enforce", "mx1.sts.example");
        switch (domain)
        {
            case "fetch-badcert.example":
                bed.PolicyHost.Serve(domain, enforce);
                bed.PolicyHost.Present(domain, new TestCertificate($"mta-sts.{domain}")); // self-signed, not from a trusted CA
                break;
            case "fetch-404.example":
                bed.PolicyHost.Set(domain, new MtaStsPolicyHost.Answer(404, "text/plain", enforce));
                break;
            case "fetch-html.example":
                bed.PolicyHost.Set(domain, new MtaStsPolicyHost.Answer(200, "text/html", enforce));
                break;
            case "fetch-large.example":
                // A valid policy, but over the configured max-policy-size.
                bed.PolicyHost.Serve(domain, enforce + string.Concat(Enumerable.Range(0, 100).Select(i => $"x-padding-{i}: ............\r\n")));
                break;
            default:
                bed.PolicyHost.Set(domain, new MtaStsPolicyHost.Answer(301, "text/plain", enforce));
                break;
        }
        var rcpt = $"bob-{Guid.NewGuid():N}@{domain}";
        var id = await SendAsync(rcpt);
        var got = Assert.Single(await bed.Plain.WaitForAsync(1, Wait, m => m.Recipients.Contains(rcpt)));
        Assert.False(got.Tls);
        AssertPolicy(await ResultAsync(id, rcpt, "Delivered"), "None", verified: false);
        await T.Gateway.WaitForLogAsync($@"MTA-STS policy of {domain.Replace(".", @"\.")} \(id 1\) could not be fetched: .*{why}.*; no policy applies");
    }

    [Fact]
    public async Task A_static_verify_reject_rule_beats_the_policys_deferral()
    {
        bed.PolicyHost.Serve("static-reject.example", MtaStsPolicyHost.Policy("enforce", "*.sts.example"));
        var rcpt = $"bob-{Guid.NewGuid():N}@static-reject.example";
        var id = await SendAsync(rcpt);
        var result = await ResultAsync(id, rcpt, "Failed");
        Assert.Equal("5.7.10", result.GetProperty("statusCode").GetString());
        Assert.Contains("policy bank", result.GetProperty("diagnostic").GetString());
        AssertPolicy(result, "Static", verified: false);
        Assert.DoesNotContain(bed.WrongName.Messages(), m => m.Recipients.Contains(rcpt));
    }

    [Fact]
    public async Task A_cached_policy_stays_in_force_when_its_host_is_down_after_a_change()
    {
        bed.PolicyHost.Serve("cached.example", MtaStsPolicyHost.Policy("enforce", "mx1.sts.example"));
        var first = $"bob-{Guid.NewGuid():N}@cached.example";
        var firstId = await SendAsync(first);
        AssertPolicy(await ResultAsync(firstId, first, "Delivered"), "MtaSts", verified: true);

        // The connection to mx1 is closed once idle: the next message looks up the MX again.
        await Eventually.WaitAsync(async () => !(await T.ReadApiAsync("api/delivery/destinations")).EnumerateArray()
                .SelectMany(a => a.GetProperty("destinations").EnumerateArray())
                .Any(d => d.GetProperty("destination").GetString() == "cached.example" && d.GetProperty("idle").GetInt32() > 0),
            Wait, () => "the connection to cached.example's MX stayed open");

        // The domain now points at a server without TLS and announces a new policy id, but its policy host is down:
        // the cached policy (mx1 only, verified TLS) still decides, so nothing goes out in plaintext.
        bed.PolicyHost.Set("cached.example", new MtaStsPolicyHost.Answer(200, "text/plain", "", Drop: true));
        await T.RepublishDnsAsync([.. bed.Dns, .. Domain("cached.example", "mx3.sts.example", id: "2")]);
        var second = $"carol-{Guid.NewGuid():N}@cached.example";
        var secondId = await SendAsync(second);
        var result = await ResultAsync(secondId, second, "Deferred");
        Assert.Equal("4.7.5", result.GetProperty("statusCode").GetString());
        Assert.Contains("allows none of the MX hosts (mx3.sts.example)", result.GetProperty("diagnostic").GetString());
        await T.Gateway.WaitForLogAsync(@"MTA-STS policy of cached\.example \(id 2\) could not be fetched: .*; the cached policy \(id 1\) stays in force");
        Assert.DoesNotContain(bed.Plain.Messages(), m => m.Recipients.Contains(second));
    }

    [Fact]
    public async Task Tls_reports_go_to_the_rua_by_mail_and_by_https_with_the_rfc_8460_fields()
    {
        bed.PolicyHost.Serve("enforce-good.example", MtaStsPolicyHost.Policy("enforce", "mx1.sts.example"));
        bed.PolicyHost.Serve("enforce-wrongcert.example", MtaStsPolicyHost.Policy("enforce", "*.sts.example"));
        var good = $"rpt-{Guid.NewGuid():N}@enforce-good.example";
        var bad = $"rpt-{Guid.NewGuid():N}@enforce-wrongcert.example";
        var goodId = await SendAsync(good);
        var badId = await SendAsync(bad);
        await ResultAsync(goodId, good, "Delivered");
        await ResultAsync(badId, bad, "Deferred");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{T.OperationsPort}/api/tls-rpt/send");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayTestbed.OperationsToken);
        using var response = await http.SendAsync(request);
        var sent = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, sent.ToString());
        Assert.Contains(sent.EnumerateArray(), s => s.GetProperty("domain").GetString() == "enforce-good.example" && s.GetProperty("done").GetBoolean());
        Assert.Contains(sent.EnumerateArray(), s => s.GetProperty("domain").GetString() == "enforce-wrongcert.example" && s.GetProperty("done").GetBoolean());

        // By mail: a multipart/report of type tlsrpt with the gzipped JSON.
        var mail = Assert.Single(await T.Receiver.WaitForAsync(1, Wait, m => m.Recipients.Contains("tlsrpt@rcpt.example")));
        var message = MimeKit.MimeMessage.Load(new MemoryStream(mail.Data));
        Assert.Equal("enforce-good.example", message.Headers["TLS-Report-Domain"]);
        var report = Assert.IsType<MimeKit.MultipartReport>(message.Body);
        Assert.Equal("tlsrpt", report.ReportType);
        var part = Assert.Single(report.OfType<MimeKit.MimePart>(), p => p.ContentType.MimeType == "application/tlsrpt+gzip");
        using (var content = new MemoryStream())
        {
            await part.Content.DecodeToAsync(content);
            Policy.MtaSts.TlsReportTests.AssertRfc8460Report(Gunzip(content.ToArray()), "enforce-good.example", minSuccessful: 1, failureType: null);
        }

        // By HTTPS POST, the certificate of the report host verified against the test CA.
        var (type, body) = Assert.Single(bed.PolicyHost.Reports);
        Assert.Equal("application/tlsrpt+gzip", type);
        Policy.MtaSts.TlsReportTests.AssertRfc8460Report(Gunzip(body), "enforce-wrongcert.example", minSuccessful: 0, failureType: "certificate-host-mismatch");
    }

    static JsonElement Gunzip(byte[] gz)
    {
        using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(gz), System.IO.Compression.CompressionMode.Decompress);
        return JsonDocument.Parse(gzip).RootElement.Clone();
    }
}
