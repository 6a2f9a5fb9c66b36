using System.Security.Cryptography;
using System.Text;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// SMTP smuggling through the real node: a client sends a bare-LF/CR end-of-data look-alike
/// followed by a second transaction inside its DATA; the receiver's raw bytes show one message,
/// CRLF only, the smuggled text inside its body, DKIM valid; with reject, 550 5.5.2 and nothing relayed.
/// </summary>
public sealed class BareLineEndingTests
{
    // Sends each "sender|rcpt,rcpt|file" as one transaction with the file's raw bytes after DATA
    // (smtplib's sendmail would fix the line endings) and prints the final reply.
    const string RawClient = """
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
s.ehlo('client.test')
for spec in sys.argv[2:]:
    sender, rcpts, path = spec.split('|')
    assert s.docmd('MAIL FROM:<%s>' % sender)[0] == 250
    for r in rcpts.split(','):
        assert s.docmd('RCPT TO:<%s>' % r)[0] == 250
    assert s.docmd('DATA')[0] == 354
    s.send(open(path, 'rb').read())
    code, text = s.getreply()
    print(code, text.decode())
s.quit()
""";

    static byte[] Smuggling(string name, string to, string sequence) => Encoding.ASCII.GetBytes(
        $"From: Alice <alice@sender.example>\r\nTo: {to}\r\nSubject: smuggling {name}\r\nMessage-ID: <{name}@sender.example>\r\n\r\n" +
        $"Hello\r\ntext{sequence}MAIL FROM:<evil@sender.example>\r\nRCPT TO:<victim@rcpt.example>\r\nDATA\r\nSmuggled body {name}\r\n.\r\n");

    internal static async Task<string[]> SendRawAsync(GatewayTestbed bed, TempDirectory work, params (string From, string Rcpts, byte[] Data)[] messages)
    {
        await File.WriteAllTextAsync(work.File("client.py"), RawClient);
        var args = new List<string> { work.File("client.py"), bed.SmtpPort.ToString() };
        foreach (var (m, i) in messages.Select((m, i) => (m, i)))
        {
            await File.WriteAllBytesAsync(work.File($"m{i}.eml"), m.Data);
            args.Add($"{m.From}|{m.Rcpts}|{work.File($"m{i}.eml")}");
        }
        var p = await ExternalProcess.RunAsync("/usr/bin/python3", args, TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, p.ToString());
        return p.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    static void AssertCrLfOnly(ReceivedMail mail)
    {
        Assert.True(BareLineEndingNormalizer.IndexOfBare(mail.Data, out var kind) < 0 && mail.Data[^1] != '\r',
            $"bare {kind} in the message to {string.Join(",", mail.Recipients)}: {mail.Text}");
    }

    [Fact]
    public async Task Smuggled_transactions_stay_inside_one_crlf_message_or_are_refused()
    {
        using var keys = new TempDirectory();
        using var rsa = RSA.Create(2048);
        await File.WriteAllTextAsync(keys.File("rsa.pem"), rsa.ExportPkcs8PrivateKeyPem());
        await using var bed = await GatewayTestbed.StartAsync(
            extraDns: [DkimTests.TxtRecord("rsa1._domainkey.sender.example", $"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}")],
            // One connection per destination: a message sent later arrives after anything smuggled on the same connection.
            extraHocon: $$"""
                gateway.dkim.keys { "sender.example" { selector = rsa1, algorithm = rsa-sha256, key = "{{keys.File("rsa.pem")}}" } }
                gateway.delivery.destination { initial-concurrency = 1, max-concurrency = 1 }
                """);
        using var work = new TempDirectory();

        // normalize (the default): bare LF and bare CR, one with a refused recipient for an NDR that quotes it.
        var replies = await SendRawAsync(bed, work,
            ("alice@sender.example", "bob@rcpt.example,reject-smuggling@rcpt.example", Smuggling("lf", "bob@rcpt.example", "\n.\n")),
            ("alice@sender.example", "carol@rcpt.example", Smuggling("cr", "carol@rcpt.example", "\r.\r\n")));
        Assert.All(replies, r => Assert.StartsWith("250 2.0.0 Ok: queued as", r));
        await bed.Receiver.WaitForAsync(3, TimeSpan.FromSeconds(30));
        var marker = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "dave@rcpt.example");
        Assert.True(marker.ExitCode == 0, marker.ToString());
        await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("dave@rcpt.example"));

        var received = bed.Receiver.Messages();
        Assert.DoesNotContain(received, m => m.MailFrom == "evil@sender.example" || m.Recipients.Contains("victim@rcpt.example"));
        Assert.All(received, AssertCrLfOnly);
        await File.WriteAllTextAsync(work.File("verify.py"), DkimTests.Verifier);
        foreach (var (rcpt, name) in new[] { ("bob@rcpt.example", "lf"), ("carol@rcpt.example", "cr") })
        {
            var mail = Assert.Single(received, m => m.Recipients.Contains(rcpt));
            Assert.Contains($"text\r\n.\r\nMAIL FROM:<evil@sender.example>\r\nRCPT TO:<victim@rcpt.example>\r\nDATA\r\nSmuggled body {name}\r\n", mail.Text);
            await File.WriteAllBytesAsync(work.File("mail.eml"), mail.Data);
            var verify = await ExternalProcess.RunAsync("/usr/bin/python3", [work.File("verify.py"), work.File("mail.eml"), bed.Dns.Port.ToString()], TimeSpan.FromSeconds(30));
            Assert.True(verify.StandardOutput.Trim() == "verified sender.example rsa1", verify.ToString());
        }
        var ndr = Assert.Single(received, m => m.Recipients.Contains("alice@sender.example"));
        Assert.Contains("Smuggled body lf", ndr.Text);

        // reject, as the default of gateway.smtp that the listener inherits: 550 5.5.2, the session goes on, nothing relayed.
        await bed.AppendConfigAsync("gateway.smtp.bare-line-endings = reject");
        await bed.RestartGatewayAsync();
        replies = await SendRawAsync(bed, work,
            ("alice@sender.example", "erin@rcpt.example", Smuggling("refused", "erin@rcpt.example", "\n.\r\n")),
            ("alice@sender.example", "frank@rcpt.example", Encoding.ASCII.GetBytes("Subject: clean\r\n\r\nclean\r\n.\r\n")));
        Assert.Equal("550 5.5.2 Message contains a bare LF (RFC 5321 2.3.8)", replies[0]);
        Assert.StartsWith("250 2.0.0 Ok: queued as", replies[1]);
        await bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Recipients.Contains("frank@rcpt.example"));
        Assert.DoesNotContain(bed.Receiver.Messages(), m => m.Recipients.Contains("erin@rcpt.example") || m.Text.Contains("smuggling refused"));
    }
}
