using System.Text;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Tenants;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// What the receivers learn about the customer's servers, read from the raw bytes a real MTA
/// (aiosmtpd) got: each trace-header mode, for clients on IPv4 and on IPv6, chosen per tenant
/// (by source address, or by AUTH login on IPv6, where loopback has one address). Clients are
/// Python's smtplib; the record keeps what the mail no longer says.
/// </summary>
public sealed class TraceHeaderTests
{
    const string Client = """
import smtplib, ssl, sys
host, port, source, user, password, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
s = smtplib.SMTP(host, port, source_address=(source, 0), timeout=30)
s.ehlo('client.test')
if user:
    s.starttls(context=ssl._create_unverified_context()); s.ehlo('client.test'); s.login(user, password)
s.mail('alice@sender.example'); s.rcpt('bob@rcpt.example')
code, text = s.data(open(path, 'rb').read())
print(code, text.decode()); s.quit()
""";

    /// <summary>As a customer's mail server passes it on: its own and an internal host's Received fields, and one of the gateway's hidden lines from an earlier pass.</summary>
    static string Message(string id, int extraHops = 0) =>
        string.Concat(Enumerable.Range(0, extraHops).Select(i => $"Received: from hop{i}.loop.example by hop{i + 1}.loop.example; Mon, 23 Nov 2026 09:00:00 +0000\r\n")) +
        "Received: from app01.customer.lan (app01.customer.lan [10.1.2.3])\r\n\tby mx.customer.lan (Postfix) with ESMTP id 4ABC;\r\n\tMon, 23 Nov 2026 10:00:00 +0000\r\n" +
        "Received: by gw.earlier (ActorGateway) with ESMTP id EARLIER;\r\n\tMon, 23 Nov 2026 09:59:00 +0000\r\n" +
        $"From: <alice@sender.example>\r\nTo: <bob@rcpt.example>\r\nSubject: trace\r\nMessage-ID: <{id}@client.test>\r\n\r\nbody\r\n";

    [Fact]
    public async Task Each_mode_for_IPv4_and_IPv6_clients_on_the_raw_bytes_and_the_hop_limit()
    {
        await using var bed = await GatewayTestbed.StartAsync(ipv6: true, extraHocon: $$"""
            gateway.smtp.max-hops = 10
            gateway.tenants {
              full4 { networks = ["127.0.0.4/32"], domains = ["sender.example"], trace-header = full }
              strip4 { networks = ["127.0.0.5/32"], domains = ["sender.example"], trace-header = strip-received }
              hide6 { networks = ["::1/128"], domains = ["sender.example"] }
              full6 {
                users { "full6" = "{{PasswordHash.Create("pw", 1000)}}" }
                domains = ["sender.example"], trace-header = full
              }
              strip6 {
                users { "strip6" = "{{PasswordHash.Create("pw", 1000)}}" }
                domains = ["sender.example"], trace-header = strip-received
              }
            }
            """);
        var port6 = bed.SmtpPort6;
        using var work = new TempDirectory();
        await File.WriteAllTextAsync(work.File("client.py"), Client);

        async Task<string> Send(string id, string host, int port, string source, string user = "", int extraHops = 0)
        {
            await File.WriteAllTextAsync(work.File(id + ".eml"), Message(id, extraHops));
            var run = await ExternalProcess.RunAsync("/usr/bin/python3",
                [work.File("client.py"), host, port.ToString(), source, user, "pw", work.File(id + ".eml")], TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 0, run.ToString());
            return run.StandardOutput.Trim();
        }

        var cases = new (string Id, string Host, int Port, string Source, string User, string Mode, string Literal)[]
        {
            ("hide4", "127.0.0.1", bed.SmtpPort, "127.0.0.1", "", "hide-client", "[127.0.0.1]"),
            ("full4", "127.0.0.1", bed.SmtpPort, "127.0.0.4", "", "full", "[127.0.0.4]"),
            ("strip4", "127.0.0.1", bed.SmtpPort, "127.0.0.5", "", "strip-received", "[127.0.0.5]"),
            ("hide6", "::1", port6, "::1", "", "hide-client", "[IPv6:::1]"),
            ("full6", "::1", port6, "::1", "full6", "full", "[IPv6:::1]"),
            ("strip6", "::1", port6, "::1", "strip6", "strip-received", "[IPv6:::1]"),
        };
        var queued = new Dictionary<string, string>();
        foreach (var c in cases)
        {
            var reply = await Send(c.Id, c.Host, c.Port, c.Source, c.User);
            Assert.StartsWith("250 ", reply);
            queued[c.Id] = reply.Split(' ').Last();
        }
        var got = await bed.Receiver.WaitForAsync(cases.Length, TimeSpan.FromSeconds(30));

        foreach (var c in cases)
        {
            var mail = got.Single(m => m.Text.Contains($"<{c.Id}@client.test>"));
            var raw = Encoding.ASCII.GetString(mail.Data);
            var headers = raw[..raw.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
            Assert.False(raw.Replace("\r\n", "").Contains('\n') || raw.Replace("\r\n", "").Contains('\r'), $"{c.Id}: a bare line ending\n{raw}");
            var ours = $"by gw.test (ActorGateway) with {(c.User.Length > 0 ? "ESMTPSA" : "ESMTP")} id {queued[c.Id]}";
            if (c.Mode == "full")
            {
                Assert.StartsWith($"Received: from client.test ({c.Literal})\r\n", raw);
                Assert.Contains($"\r\n\t{ours}", headers);
            }
            else
            {
                Assert.StartsWith($"Received: {ours}", raw);
                Assert.DoesNotContain("client.test ", headers);       // the HELO name (the Message-ID's domain aside)
                Assert.DoesNotContain(c.Literal, raw);
                Assert.DoesNotContain(c.Source == "::1" ? "::1" : c.Source, raw);
            }
            if (c.Mode == "strip-received")
            {
                Assert.DoesNotContain("customer.lan", raw);
                Assert.DoesNotContain("10.1.2.3", raw);
                // The gateway's own hidden line of an earlier pass stays: a loop still adds one field per pass.
                Assert.Contains("Received: by gw.earlier (ActorGateway) with ESMTP id EARLIER;", headers);
                Assert.Equal(2, headers.Split("\r\n").Count(l => l.StartsWith("Received:", StringComparison.Ordinal)));
            }
            else
            {
                Assert.Contains("Received: from app01.customer.lan (app01.customer.lan [10.1.2.3])", headers);
            }
        }

        // The operator still sees the client: in the delivery record (and the log).
        foreach (var c in cases)
        {
            ExternalProcess? show = null;
            await Eventually.WaitAsync(async () =>
                (show = await Actorgw.RunAsync(bed.Reading("queue", "show", queued[c.Id]))).StandardOutput.Contains("state:      done"),
                TimeSpan.FromSeconds(20), () => $"{c.Id} not done:\n{show}");
            Assert.True(show!.StandardOutput.Contains($"from client.test {c.Literal.Replace("IPv6:", "")}"), show.ToString());
        }
        Assert.Contains($"client=client.test[127.0.0.4]", bed.Gateway.Output);

        // Hop limit 10: 2 Received fields in the message + 7 more pass, + 8 more is a loop.
        Assert.StartsWith("250 ", await Send("hops9", "127.0.0.1", bed.SmtpPort, "127.0.0.1", extraHops: 7));
        Assert.Equal("554 5.4.6 Too many hops (10 Received header fields): mail loop", await Send("hops10", "127.0.0.1", bed.SmtpPort, "127.0.0.1", extraHops: 8));
    }
}
