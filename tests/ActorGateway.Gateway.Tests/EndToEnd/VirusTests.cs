using System.Text;
using ActorGateway.Gateway.Tests.Policy;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>A virus never leaves: 554 with the signature, and an NDR to the sender without the virus.</summary>
public sealed class VirusTests
{
    static async Task<string> EicarFileAsync(TempDirectory dir)
    {
        var path = dir.File("eicar.com");
        await File.WriteAllTextAsync(path, VirusScannerTests.Eicar);
        return path;
    }

    static async Task AssertVirusRejectedAsync(GatewayTestbed bed, string expectedSignature)
    {
        using var dir = new TempDirectory();
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example", "--attach", "@" + await EicarFileAsync(dir));
        var refusal = Assert.Single(swaks.Replies(), r => r.StartsWith("554"));
        Assert.StartsWith($"554 5.7.1 Message rejected: virus {expectedSignature}", refusal);
        Assert.EndsWith("found in eicar.com", refusal);

        // The sender is told which part was infected; the NDR carries headers only, never the virus.
        var ndr = Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("alice@sender.example")));
        var report = Assert.IsType<MultipartReport>(MimeMessage.Load(new MemoryStream(ndr.Data)).Body);
        var status = Assert.Single(report.OfType<MessageDeliveryStatus>());
        Assert.Equal("5.7.1", status.StatusGroups[1]["Status"]);
        Assert.Contains($"virus {expectedSignature}", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Contains("eicar.com", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.DoesNotContain(report, p => p.ContentType.MimeType == "message/rfc822");
        Assert.DoesNotContain("EICAR", ndr.Text);
        Assert.DoesNotContain("WDVPIVAlQEFQWzRcUFpYNTQ", ndr.Text);
        // And nothing reached the recipient.
        Assert.DoesNotContain(bed.Receiver.Messages(), m => m.Recipients.Contains("bob@rcpt.example"));
    }

    [Fact]
    public async Task Builtin_scanner_rejects_eicar_and_tells_the_sender()
    {
        await using var bed = await GatewayTestbed.StartAsync();
        await AssertVirusRejectedAsync(bed, "Eicar-Test-Signature");
    }

    [Fact]
    public async Task Clamd_rejects_eicar_and_a_clean_mail_passes()
    {
        await using var clamd = await Clamd.StartAsync([]);
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.scanning.antivirus { engine = clamd, clamd = "{{clamd.Endpoint}}" }
            """);
        await AssertVirusRejectedAsync(bed, "Eicar-Test-Signature.UNOFFICIAL");

        var clean = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "carol@rcpt.example", "--body", "nothing bad");
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.Single(await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("carol@rcpt.example")));
    }

    [Fact]
    public async Task Scanner_down_means_451_never_an_unscanned_250()
    {
        await using var bed = await GatewayTestbed.StartAsync(extraHocon: $$"""
            gateway.scanning.antivirus { engine = clamd, clamd = "127.0.0.1:{{FreePort.Next()}}", timeout = 5s }
            """);
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example");
        Assert.Contains("451 4.7.0 Virus scanner unavailable, try again later", swaks.Replies());
        Assert.DoesNotContain(swaks.Replies(), r => r.Contains("queued as"));
    }
}
