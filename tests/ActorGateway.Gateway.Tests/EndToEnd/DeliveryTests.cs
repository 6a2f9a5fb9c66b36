using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>Retries on 4xx, NDRs on 5xx (RFC 3464), NOTIFY honoured.</summary>
public sealed class DeliveryTests(DeliveryTests.Bed bed) : IClassFixture<DeliveryTests.Bed>
{
    public sealed class Bed : IAsyncLifetime
    {
        public GatewayTestbed Testbed { get; private set; } = null!;
        public async Task InitializeAsync() => Testbed = await GatewayTestbed.StartAsync();
        public async Task DisposeAsync() => await Testbed.DisposeAsync();
    }

    GatewayTestbed T => bed.Testbed;

    [Fact]
    public async Task Temporary_refusal_is_retried_and_delivered_later()
    {
        var rcpt = $"defer-{Guid.NewGuid():N}@rcpt.example";
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", rcpt);
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var got = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains(rcpt)));
        Assert.Equal("alice@sender.example", got.MailFrom);
        await T.Gateway.WaitForLogAsync($"{swaks.QueueId()}: tenant=local pool=good to=<{rcpt}> status=deferred",
                                        $"{swaks.QueueId()}: tenant=local pool=good to=<{rcpt}> status=delivered");
    }

    [Fact]
    public async Task Temporary_refusal_after_data_is_retried()
    {
        var rcpt = $"tempfail-data-{Guid.NewGuid():N}@rcpt.example";
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", rcpt);
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains(rcpt)));
    }

    [Fact]
    public async Task Permanent_refusal_bounces_with_an_rfc3464_report_to_the_sender()
    {
        var tag = Guid.NewGuid().ToString("N");
        var rejected = $"reject-{tag}@rcpt.example";
        var accepted = $"ok-{tag}@rcpt.example";
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", $"{rejected},{accepted}", "--header", $"Subject: bounce {tag}");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var queueId = swaks.QueueId();

        Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains(accepted)));
        // sender.example's MX is the same receiver: the NDR arrives there, from the null sender.
        var ndr = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30),
            m => m.Recipients.Contains("alice@sender.example") && m.Text.Contains(queueId)));
        Assert.Equal("<>", ndr.MailFrom); // aiosmtpd's way of recording the null reverse-path

        var message = MimeMessage.Load(new MemoryStream(ndr.Data));
        var report = Assert.IsType<MultipartReport>(message.Body);
        Assert.Equal("delivery-status", report.ReportType);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        Assert.Equal("dns; gw.test", status.StatusGroups[0]["Reporting-MTA"]);
        var recipient = Assert.Single(status.StatusGroups.Skip(1));
        Assert.Equal($"rfc822; {rejected}", recipient["Final-Recipient"]);
        Assert.Equal("failed", recipient["Action"]);
        Assert.Equal("5.1.1", recipient["Status"]);
        Assert.StartsWith("smtp; 550", recipient["Diagnostic-Code"]);
        Assert.Equal("dns; mx.rcpt.example[127.0.0.1]", recipient["Remote-MTA"]);
        var original = Assert.Single(report.OfType<MessagePart>());
        Assert.Equal($"bounce {tag}", original.Message.Subject);
        Assert.Equal("auto-replied", message.Headers["Auto-Submitted"]);
    }

    [Fact]
    public async Task Notify_never_suppresses_the_report_and_ret_hdrs_returns_only_headers()
    {
        var tag = Guid.NewGuid().ToString("N");
        using var dir = new TempDirectory();
        var script = dir.File("send.py");
        await File.WriteAllTextAsync(script, $$"""
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', {{T.SmtpPort}}, timeout=30)
s.ehlo('client.test')
body = b'Subject: dsn {{tag}}\r\n\r\nsecret body text\r\n'
s.sendmail('alice@sender.example', ['reject-never-{{tag}}@rcpt.example'], body, rcpt_options=['NOTIFY=NEVER'])
s.sendmail('alice@sender.example', ['reject-hdrs-{{tag}}@rcpt.example'], body, mail_options=['RET=HDRS', 'ENVID=env-{{tag}}'], rcpt_options=['NOTIFY=FAILURE'])
s.quit()
""");
        var p = await ExternalProcess.RunAsync("/usr/bin/python3", [script], TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, p.ToString());

        var ndr = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30),
            m => m.Recipients.Contains("alice@sender.example") && m.Text.Contains($"reject-hdrs-{tag}")));
        var report = Assert.IsType<MultipartReport>(MimeMessage.Load(new MemoryStream(ndr.Data)).Body);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        Assert.Equal($"env-{tag}", status.StatusGroups[0]["Original-Envelope-Id"]);
        Assert.Single(report, part => part.ContentType.MimeType == "text/rfc822-headers");
        Assert.DoesNotContain(report, part => part.ContentType.MimeType == "message/rfc822");
        Assert.DoesNotContain("secret body text", ndr.Text);

        await T.Gateway.WaitForLogAsync($"to=<reject-never-{tag}@rcpt.example> status=failed");
        await Task.Delay(TimeSpan.FromSeconds(2)); // time enough for an NDR that must not come
        Assert.DoesNotContain(T.Receiver.Messages(), m => m.Text.Contains($"reject-never-{tag}"));
    }
}
