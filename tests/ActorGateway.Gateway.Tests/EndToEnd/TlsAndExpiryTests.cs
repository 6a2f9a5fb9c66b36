using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

public sealed class TlsAndExpiryTests
{
    [Fact]
    public async Task Starttls_is_used_when_the_receiver_offers_it()
    {
        await using var bed = await GatewayTestbed.StartAsync(receiverTls: true);
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var mail = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)));
        Assert.True(mail.Tls);
        await bed.Gateway.WaitForLogAsync($"{swaks.QueueId()}: .* status=delivered .* tls=Tls1[23]");
    }

    [Fact]
    public async Task Each_destination_records_its_own_tls_outcome()
    {
        await using var plain = await TestMailReceiver.StartAsync();
        await using var bed = await GatewayTestbed.StartAsync(receiverTls: true,
            extraHocon: $$"""gateway.delivery.routes { "other.example" = "127.0.0.1:{{plain.Port}}" }""");
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example,dave@other.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        Assert.True(Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30))).Tls);
        Assert.False(Assert.Single(await plain.WaitForAsync(1, TimeSpan.FromSeconds(30))).Tls);
        await bed.Gateway.WaitForLogAsync(
            $@"{swaks.QueueId()}: .* to=<bob@rcpt\.example> status=delivered .* tls=Tls1[23] ",
            $@"{swaks.QueueId()}: .* to=<dave@other\.example> status=delivered .* tls=none ");
    }

    [Fact]
    public async Task Plain_text_when_the_receiver_offers_no_tls()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.False(Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30))).Tls);
        await bed.Gateway.WaitForLogAsync($"{swaks.QueueId()}: tenant=local pool=good to=<bob@rcpt.example> status=delivered .* tls=none");
    }

    [Fact]
    public async Task Mail_still_undeliverable_after_its_lifetime_is_bounced()
    {
        var dead = FreePort.Next();
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.delivery.max-lifetime = 4s
            gateway.delivery.routes { "dead.example" = "127.0.0.1:{{dead}}" }
            """);
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "nobody@dead.example");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var ndr = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(40), m => m.Recipients.Contains("alice@sender.example")));
        var report = Assert.IsType<MultipartReport>(MimeMessage.Load(new MemoryStream(ndr.Data)).Body);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        Assert.Equal("5.4.7", status.StatusGroups[1]["Status"]);
        Assert.Contains("delivery time expired", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Contains("could not be delivered in time", ndr.Text);
    }
}
