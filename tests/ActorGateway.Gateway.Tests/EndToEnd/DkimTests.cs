using System.Security.Cryptography;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>DKIM signatures checked by an independent verifier (python3-dkim) against keys published in the test's DNS.</summary>
public sealed class DkimTests
{
    internal const string Verifier = """
import sys, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = ['127.0.0.1']; r.port = int(sys.argv[2])
def txt(name, timeout=5):
    answer = r.resolve(name.decode().rstrip('.'), 'TXT')
    return b''.join(b''.join(rr.strings) for rr in answer)
d = dkim.DKIM(open(sys.argv[1], 'rb').read())
ok = d.verify(dnsfunc=txt)
print('verified' if ok else 'FAILED', d.domain.decode() if d.domain else '-', d.selector.decode() if d.selector else '-')
""";

    /// <summary>A dnsmasq TXT line; strings over 255 octets are split as DNS requires.</summary>
    internal static string TxtRecord(string name, string value) =>
        $"txt-record={name}," + string.Join(",", value.Chunk(200).Select(c => $"\"{new string(c)}\""));

    [Fact]
    public async Task Rsa_and_ed25519_signatures_verify_and_foreign_domains_are_refused()
    {
        using var keys = new TempDirectory();
        using var rsa = RSA.Create(2048);
        await File.WriteAllTextAsync(keys.File("rsa.pem"), rsa.ExportPkcs8PrivateKeyPem());
        var rsaPublic = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        var gen = await ExternalProcess.RunAsync("/usr/bin/openssl", ["genpkey", "-algorithm", "ed25519", "-out", keys.File("ed.pem")], TimeSpan.FromSeconds(20));
        Assert.True(gen.ExitCode == 0, gen.ToString());
        var der = await ExternalProcess.RunAsync("/bin/sh", ["-c", $"/usr/bin/openssl pkey -in {keys.File("ed.pem")} -pubout -outform DER | tail -c 32 | base64"], TimeSpan.FromSeconds(20));
        var edPublic = der.StandardOutput.Trim();

        await using var bed = await GatewayTestbed.StartAsync(
            extraDns: [TxtRecord("rsa1._domainkey.sender.example", $"v=DKIM1; k=rsa; p={rsaPublic}"),
                       TxtRecord("ed1._domainkey.authed.example", $"v=DKIM1; k=ed25519; p={edPublic}")],
            extraHocon: $$"""
                gateway.dkim.keys {
                  "sender.example" { selector = rsa1, algorithm = rsa-sha256, key = "{{keys.File("rsa.pem")}}" }
                  "authed.example" { selector = ed1, algorithm = ed25519-sha256, key = "{{keys.File("ed.pem")}}" }
                }
                """);

        // RSA: a network tenant, through swaks.
        var swaks = await Swaks.SendAsync(bed.SmtpPort, "alice@sender.example", "bob@rcpt.example",
            "--header", "Subject: signed with RSA", "--header", "From: Alice <alice@sender.example>");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        // Ed25519: a login tenant, through MailKit.
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("app@authed.example"));
        m.To.Add(MailboxAddress.Parse("carol@rcpt.example"));
        m.Subject = "signed with Ed25519";
        m.Body = new TextPart("plain") { Text = "Grüße aus der App\n\n-- \nsignature\n" };
        using (var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            await client.ConnectAsync("127.0.0.1", bed.SmtpPort, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync(GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword);
            await client.SendAsync(m);
            await client.DisconnectAsync(true);
        }

        var got = await bed.Receiver.WaitForAsync(2, TimeSpan.FromSeconds(30));
        using var work = new TempDirectory();
        await File.WriteAllTextAsync(work.File("verify.py"), Verifier);
        foreach (var (rcpt, expected) in new[] { ("bob@rcpt.example", "verified sender.example rsa1"), ("carol@rcpt.example", "verified authed.example ed1") })
        {
            var mail = got.Single(x => x.Recipients.Contains(rcpt));
            Assert.StartsWith("DKIM-Signature:", mail.Text);
            await File.WriteAllBytesAsync(work.File("mail.eml"), mail.Data);
            var verify = await ExternalProcess.RunAsync("/usr/bin/python3", [work.File("verify.py"), work.File("mail.eml"), bed.Dns.Port.ToString()], TimeSpan.FromSeconds(30));
            Assert.True(verify.StandardOutput.Trim() == expected, verify.ToString());
        }
        Assert.Contains("a=ed25519-sha256", got.Single(x => x.Recipients.Contains("carol@rcpt.example")).Text);

        // Second verifier: opendkim-testkey checks the published RSA record against the signing key
        // (it cannot check Ed25519 keys: version 2.11 expects RSA), resolving through the test's DNS.
        await File.WriteAllTextAsync(work.File("unbound.conf"),
            $"server:\n  do-not-query-localhost: no\n  module-config: \"iterator\"\nforward-zone:\n  name: \".\"\n  forward-addr: 127.0.0.1@{bed.Dns.Port}\n");
        await File.WriteAllTextAsync(work.File("opendkim.conf"), $"ResolverConfiguration {work.File("unbound.conf")}\n");
        var testkey = await ExternalProcess.RunAsync(ExternalProcess.Require("opendkim-testkey", "opendkim-tools"),
            ["-x", work.File("opendkim.conf"), "-d", "sender.example", "-s", "rsa1", "-k", keys.File("rsa.pem"), "-vvv"], TimeSpan.FromSeconds(30));
        Assert.True(testkey.ExitCode == 0 && (testkey.StandardOutput + testkey.StandardError).Contains("key OK"), testkey.ToString());

        // A tenant sending from a domain it does not own gets no signature: it is refused.
        var foreign = await Swaks.SendAsync(bed.SmtpPort, "ceo@authed.example", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("550 5.7.1 Sender domain authed.example is not permitted for this client", foreign.Replies());
    }

    [Fact]
    public async Task A_missing_key_stops_the_start_with_a_clear_message()
    {
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("bad.conf"), $$"""
            gateway.data-dir = "{{dir.File("data")}}"
            gateway.dkim.keys { "sender.example" { selector = s1, key = "{{dir.File("missing.pem")}}" } }
            """);
        var p = await ExternalProcess.RunAsync("dotnet", [GatewayProcess.NodeAssembly, "--config", dir.File("bad.conf")], TimeSpan.FromSeconds(60));
        Assert.Equal(1, p.ExitCode);
        Assert.Contains($"gateway.dkim.keys.\"sender.example\".key: {dir.File("missing.pem")}: no such file", p.StandardError);

        // A key file that is there but is no key is as loud.
        await File.WriteAllTextAsync(dir.File("missing.pem"), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
        var unreadable = await ExternalProcess.RunAsync("dotnet", [GatewayProcess.NodeAssembly, "--config", dir.File("bad.conf")], TimeSpan.FromSeconds(60));
        Assert.Equal(1, unreadable.ExitCode);
        Assert.Contains($"gateway.dkim.keys.\"sender.example\".key: {dir.File("missing.pem")} is not a usable private key", unreadable.StandardError);
    }
}
