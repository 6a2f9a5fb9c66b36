using ActorGateway.Gateway.Tests.Support;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>Forced TLS: hold keeps mail queued and retried, reject bounces it, encrypt/verify as configured.</summary>
public sealed class ForcedTlsTests
{
    [Fact]
    public async Task Encrypt_hold_keeps_the_mail_queued_and_retried_while_the_receiver_has_no_tls()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: """
            gateway.tls-policy = [ { name = partner, recipient-domain = "rcpt.example", level = encrypt, on-failure = hold } ]
            """);
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var id = swaks.QueueId();
        await bed.Gateway.WaitForLogAsync(
            $@"{id}: .* to=<bob@rcpt\.example> status=deferred \(x-gateway; TLS could not be established: .*policy partner.*attempt=1",
            $@"{id}: .* to=<bob@rcpt\.example> status=deferred \(x-gateway; TLS could not be established: .*attempt=2");
        Assert.Empty(bed.Receiver.Messages());
    }

    [Fact]
    public async Task Encrypt_reject_bounces_with_an_ndr_that_says_tls_was_missing()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: """
            gateway.tls-policy = [ { name = strict, sender-domain = "sender.example", recipient-domain = "rcpt.example", level = encrypt, on-failure = reject } ]
            """);
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var ndr = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("alice@sender.example")));
        var report = Assert.IsType<MultipartReport>(MimeMessage.Load(new MemoryStream(ndr.Data)).Body);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        Assert.Equal("5.7.10", status.StatusGroups[1]["Status"]);
        Assert.Contains("TLS could not be established", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Contains("secure (TLS) connection", ndr.Text);
        Assert.DoesNotContain(bed.Receiver.Messages(), m => m.Recipients.Contains("bob@rcpt.example"));
    }

    [Fact]
    public async Task Verify_holds_on_a_certificate_that_does_not_verify_while_encrypt_delivers_over_tls()
    {
        await using var bed = await GatewayTestbed.StartAsync(receiverTls: true, extraHocon: """
            gateway.tls-policy = [
              { name = verified, recipient-domain = "rcpt.example", level = verify, on-failure = hold }
              { name = encrypted, recipient-domain = "other.example", level = encrypt, on-failure = hold }
            ]
            """);
        var verify = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        var encrypt = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "dave@other.example");
        Assert.True(verify.ExitCode == 0 && encrypt.ExitCode == 0, verify + "\n" + encrypt);

        var delivered = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(["dave@other.example"], delivered.Recipients);
        Assert.True(delivered.Tls);
        // The test certificate is self-signed and not for mx.rcpt.example: verification fails, the mail waits.
        await bed.Gateway.WaitForLogAsync(
            $@"{verify.QueueId()}: .* to=<bob@rcpt\.example> status=deferred \(x-gateway; TLS could not be established",
            $@"{encrypt.QueueId()}: .* to=<dave@other\.example> status=delivered .* tls=Tls1[23] \S+ unverified");
        Assert.DoesNotContain(bed.Receiver.Messages(), m => m.Recipients.Contains("bob@rcpt.example"));
    }
}
