using System.Text.RegularExpressions;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// REQUIRETLS and TLS-Required: No (RFC 8689) end to end on <see cref="DaneTestbed"/>, with
/// Python's smtplib as the client (STARTTLS, MAIL FROM parameters).
/// </summary>
public sealed class RequireTlsTests(DaneTestbed bed) : IClassFixture<DaneTestbed>
{
    GatewayTestbed T => bed.Testbed;

    /// <summary>One message through smtplib; the transcript lines EHLO, MAIL and DATA with their replies.</summary>
    async Task<string> SmtplibAsync(string rcpt, bool requireTls, bool startTls = true, string headers = "")
    {
        using var dir = new TempDirectory();
        var script = dir.File("send.py");
        await File.WriteAllTextAsync(script, $$"""
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', {{T.SmtpPort}}, timeout=30)
s.ehlo('client.test')
if {{(startTls ? "True" : "False")}}:
    s.starttls()
    s.ehlo('client.test')
print('EHLO', ' '.join(s.esmtp_features.keys()))
code, resp = s.mail('alice@sender.example', {{(requireTls ? "['REQUIRETLS']" : "[]")}})
print('MAIL', code, resp.decode())
if code == 250:
    s.rcpt('{{rcpt}}')
    code, resp = s.data(b'Subject: requiretls test\r\n{{headers}}\r\nsecret body text\r\n')
    print('DATA', code, resp.decode())
s.quit()
""");
        var p = await ExternalProcess.RunAsync("/usr/bin/python3", [script], TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, p.ToString());
        return p.StandardOutput;
    }

    static string QueueId(string transcript) => Regex.Match(transcript, @"DATA 250 .*queued as (\S+)").Groups[1].Value is { Length: > 0 } id
        ? id : throw new Xunit.Sdk.XunitException("not queued:\n" + transcript);

    async Task<MessageDeliveryStatus> NdrAsync(string rcpt)
    {
        var ndr = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45),
            m => m.Recipients.Contains("alice@sender.example") && m.Text.Contains(rcpt)));
        var report = Assert.IsType<MultipartReport>(MimeMessage.Load(new MemoryStream(ndr.Data)).Body);
        // RFC 8689 5: the NDR may travel without TLS, so it returns the headers only.
        Assert.Single(report, part => part.ContentType.MimeType == "text/rfc822-headers");
        Assert.DoesNotContain(report, part => part.ContentType.MimeType == "message/rfc822");
        Assert.DoesNotContain("secret body text", ndr.Text);
        return Assert.Single(report.OfType<MessageDeliveryStatus>());
    }

    [Fact]
    public async Task The_gateway_offers_requiretls_only_under_tls_and_refuses_it_in_plaintext()
    {
        var plain = await SmtplibAsync("bob@rt.example", requireTls: true, startTls: false);
        Assert.DoesNotContain("requiretls", plain.Split('\n')[0]);
        Assert.Contains("MAIL 530 5.7.10 REQUIRETLS needs TLS", plain);
        var tls = await SmtplibAsync("henry@rt.example", requireTls: false);
        Assert.Contains("requiretls", tls.Split('\n')[0]);
    }

    [Fact]
    public async Task Requiretls_mail_goes_over_dane_verified_tls_with_requiretls_on_mail_from()
    {
        var id = QueueId(await SmtplibAsync("bob@rt.example", requireTls: true));
        var got = Assert.Single(await bed.RequireTlsReceiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("bob@rt.example")));
        Assert.True(got.Tls);
        Assert.Contains("REQUIRETLS", got.MailOptions!);
        await bed.WaitForMessageAsync(id, "\"state\":\"done\"", " verified policy=dane");
    }

    [Fact]
    public async Task Requiretls_mail_to_a_server_without_requiretls_is_bounced_with_5_7_30()
    {
        var id = QueueId(await SmtplibAsync("carol@ee.example", requireTls: true));
        var status = await NdrAsync("carol@ee.example");
        Assert.Equal("5.7.30", status.StatusGroups[1]["Status"]);
        Assert.Contains("does not offer REQUIRETLS", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.DoesNotContain(T.Receiver.Messages(), m => m.Recipients.Contains("carol@ee.example"));
        await bed.WaitForMessageAsync(id, "\"state\":\"done\"", "5.7.30");
    }

    [Fact]
    public async Task Requiretls_mail_without_dane_is_bounced_with_5_7_10_and_tls_required_no_does_not_change_that()
    {
        // The receiver offers TLS and REQUIRETLS, but nothing the domain published vouches for its certificate.
        QueueId(await SmtplibAsync("dave@nodane-rt.example", requireTls: true, headers: "TLS-Required: No\\r\\n"));
        var status = await NdrAsync("dave@nodane-rt.example");
        Assert.Equal("5.7.10", status.StatusGroups[1]["Status"]);
        Assert.Contains("not verified through DANE or MTA-STS", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.DoesNotContain(bed.RequireTlsReceiver.Messages(), m => m.Recipients.Contains("dave@nodane-rt.example"));
    }

    [Fact]
    public async Task Tls_required_no_ignores_dane_and_delivers_opportunistically()
    {
        var id = QueueId(await SmtplibAsync("erin@mismatch.example", requireTls: false, headers: "TLS-Required: No\\r\\n"));
        Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("erin@mismatch.example")));
        var json = await bed.WaitForMessageAsync(id, "\"state\":\"done\"", " unverified\"");
        Assert.DoesNotContain("policy=", json);
    }

    [Fact]
    public async Task Tls_required_no_ignores_a_static_rule_and_delivers_in_plaintext()
    {
        QueueId(await SmtplibAsync("frank@tlsno.example", requireTls: false, headers: "TLS-Required: No\\r\\n"));
        var got = Assert.Single(await bed.PlainReceiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("frank@tlsno.example")));
        Assert.False(got.Tls);
    }

    [Fact]
    public async Task A_connection_opened_without_dane_for_tls_required_no_is_not_reused_for_other_mail()
    {
        // plain.example publishes TLSA records, its server has no STARTTLS.
        QueueId(await SmtplibAsync("ivan@plain.example", requireTls: false, headers: "TLS-Required: No\\r\\n"));
        var id = QueueId(await SmtplibAsync("judy@plain.example", requireTls: false));
        Assert.False(Assert.Single(await bed.PlainReceiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("ivan@plain.example"))).Tls);
        await bed.WaitForMessageAsync(id, "\"attempt\":2", "\"statusCode\":\"4.7.5\"");
        Assert.DoesNotContain(bed.PlainReceiver.Messages(), m => m.Recipients.Contains("judy@plain.example"));
    }

    [Fact]
    public async Task Without_tls_required_no_the_static_rule_bounces_the_same_mail()
    {
        QueueId(await SmtplibAsync("grace@tlsno.example", requireTls: false));
        var ndr = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45),
            m => m.Recipients.Contains("alice@sender.example") && m.Text.Contains("grace@tlsno.example")));
        Assert.Contains("5.7.10", ndr.Text);
        Assert.DoesNotContain(bed.PlainReceiver.Messages(), m => m.Recipients.Contains("grace@tlsno.example"));
    }
}
