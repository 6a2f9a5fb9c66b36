using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

public sealed class DnsFailureTests
{
    [Fact]
    public async Task Dns_that_does_not_answer_gives_a_temporary_reply_never_550()
    {
        // A UDP port where no DNS server runs: queries time out.
        await using var bed = await GatewayTestbed.StartAsync(dnsServerOverride: $"127.0.0.1:{FreePort.Next()}");
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("451 4.4.3 Sender domain could not be resolved, try again later", swaks.Replies());
        Assert.DoesNotContain(swaks.Replies(), r => r.StartsWith("550"));
    }
}
