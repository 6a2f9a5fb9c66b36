using System.Security.Cryptography;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// DANE for SMTP (RFC 7672) end to end: one node whose DNS is a responder that sets the AD bit
/// as a validating resolver does, receivers (aiosmtpd) with a certificate from a test CA or
/// without STARTTLS, and per recipient domain another TLSA situation.
/// </summary>
public sealed class DaneTests(DaneTests.Bed bed) : IClassFixture<DaneTests.Bed>
{
    /// <summary>Where the receiver without STARTTLS listens (same port, another loopback address).</summary>
    const string PlainAddress = "127.0.0.5";

    public sealed class Bed : IAsyncLifetime
    {
        public DnssecResponder Dns { get; } = new();
        public TestCertificateAuthority Ca { get; } = new();
        public TestCertificate ReceiverCertificate { get; private set; } = null!;
        public GatewayTestbed Testbed { get; private set; } = null!;
        public TestMailReceiver PlainReceiver { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            ReceiverCertificate = TestCertificate.IssuedBy(Ca, "mx.ta.example");
            Dns.Mx("sender.example", "mail.sender.example").A("mail.sender.example", "127.0.0.1");
            Testbed = await GatewayTestbed.StartAsync(startReceiver: false, dnsServerOverride: Dns.Endpoint, extraHocon: """
                gateway.tls-policy = [
                  { name = verify-ee, recipient-domain = "ee-verify.example", level = verify, on-failure = hold }
                  { name = verify-unusable, recipient-domain = "unusable-verify.example", level = verify, on-failure = hold }
                ]
                """);
            var tlsa = $"_{Testbed.DeliveryPort}._tcp.";
            var leafSpki = SHA256.HashData(ReceiverCertificate.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
            var caCert = SHA256.HashData(Ca.Certificate.RawData);
            void Domain(string domain, string address = "127.0.0.1") => Dns.Mx(domain, "mx." + domain).A("mx." + domain, address);

            Domain("ee.example"); Dns.Tlsa(tlsa + "mx.ee.example", 3, 1, 1, leafSpki);
            Dns.Mx("ee-verify.example", "mx.ee.example");
            Domain("ta.example"); Dns.Tlsa(tlsa + "mx.ta.example", 2, 0, 1, caCert);
            Domain("mismatch.example"); Dns.Tlsa(tlsa + "mx.mismatch.example", 3, 1, 1, RandomNumberGenerator.GetBytes(32));
            Domain("tawrong.example"); Dns.Tlsa(tlsa + "mx.tawrong.example", 2, 0, 1, caCert);
            Domain("insecure.example"); Dns.Insecure("insecure.example").Tlsa(tlsa + "mx.insecure.example", 3, 1, 1, RandomNumberGenerator.GetBytes(32));
            Domain("unusable.example"); Dns.Tlsa(tlsa + "mx.unusable.example", 1, 1, 1, leafSpki).Tlsa(tlsa + "mx.unusable.example", 3, 1, 9, leafSpki);
            Dns.Mx("unusable-verify.example", "mx.unusable.example");
            Domain("servfail.example"); Dns.ServFailTlsa(tlsa + "mx.servfail.example");
            Domain("plain.example", PlainAddress); Dns.Tlsa(tlsa + "mx.plain.example", 3, 1, 1, leafSpki);
            Domain("nodane-plain.example", PlainAddress);
            Dns.Mx("twomx.example", "mx.mismatch.example", 10).Mx("twomx.example", "mx.ee.example", 20);

            await Testbed.StartReceiverAsync(ReceiverCertificate);
            PlainReceiver = await TestMailReceiver.StartAsync(PlainAddress, Testbed.DeliveryPort);
        }

        public async Task DisposeAsync()
        {
            await Testbed.DisposeAsync();
            await PlainReceiver.DisposeAsync();
            await Dns.DisposeAsync();
            ReceiverCertificate.Dispose();
            Ca.Dispose();
        }
    }

    GatewayTestbed T => bed.Testbed;

    async Task<string> SendAsync(string rcpt)
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", rcpt);
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        return swaks.QueueId();
    }

    /// <summary>Waits until the node's view of the message (queue entry or delivery record) has every one of <paramref name="parts"/>.</summary>
    async Task<string> WaitForMessageAsync(string id, params string[] parts)
    {
        var json = "";
        await Eventually.WaitAsync(async () => parts.All((json = await T.MessageJsonAsync(id)).Contains), TimeSpan.FromSeconds(45),
            () => $"{id} never showed {string.Join(", ", parts)}:\n{json}\n{T.Gateway.Output}");
        return json;
    }

    async Task DeliveredWithDaneAsync(string rcpt, string tls)
    {
        var id = await SendAsync(rcpt);
        var got = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains(rcpt)));
        Assert.True(got.Tls);
        await WaitForMessageAsync(id, "\"state\":\"done\"", tls);
    }

    async Task DeferredByDaneAsync(string rcpt, string why, TestMailReceiver? receiver = null)
    {
        var id = await SendAsync(rcpt);
        // Two attempts: it stays queued and is retried, never sent some other way meanwhile.
        var json = await WaitForMessageAsync(id, "\"attempt\":2", "\"statusCode\":\"4.7.5\"", "DANE", why);
        Assert.DoesNotContain("\"state\":\"done\"", json);
        Assert.DoesNotContain((receiver ?? T.Receiver).Messages(), m => m.Recipients.Contains(rcpt));
    }

    [Fact]
    public Task Dane_ee_spki_sha256_match_delivers_and_records_dane_verified() =>
        DeliveredWithDaneAsync("bob@ee.example", " verified policy=dane");

    [Fact]
    public Task Dane_ta_match_with_the_mx_name_delivers_verified() =>
        DeliveredWithDaneAsync("bob@ta.example", " verified policy=dane");

    [Fact]
    public Task A_static_verify_rule_is_met_by_dane_authentication() =>
        DeliveredWithDaneAsync("bob@ee-verify.example", " verified policy=dane");

    [Fact]
    public Task Only_unusable_records_deliver_over_tls_without_authentication() =>
        DeliveredWithDaneAsync("bob@unusable.example", " unverified policy=dane");

    [Fact]
    public async Task An_insecure_answer_is_not_dane_and_delivers_opportunistically()
    {
        var id = await SendAsync("bob@insecure.example");
        Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("bob@insecure.example")));
        var json = await WaitForMessageAsync(id, "\"state\":\"done\"", " unverified\"");
        Assert.DoesNotContain("policy=dane", json);
    }

    [Fact]
    public Task A_mismatching_tlsa_record_defers_and_nothing_is_sent() =>
        DeferredByDaneAsync("bob@mismatch.example", "matches no DANE-EE");

    [Fact]
    public Task A_dane_ta_leaf_for_another_name_defers() =>
        DeferredByDaneAsync("bob@tawrong.example", "names none of");

    [Fact]
    public Task A_failing_tlsa_lookup_defers() =>
        DeferredByDaneAsync("bob@servfail.example", "TLSA lookup");

    [Fact]
    public async Task A_receiver_without_starttls_and_tlsa_records_defers_and_gets_nothing_in_plaintext()
    {
        // The same receiver takes mail in plaintext when no TLSA records say otherwise.
        await SendAsync("bob@nodane-plain.example");
        var plain = Assert.Single(await bed.PlainReceiver.WaitForAsync(1, TimeSpan.FromSeconds(45), m => m.Recipients.Contains("bob@nodane-plain.example")));
        Assert.False(plain.Tls);
        await DeferredByDaneAsync("bob@plain.example", "mx.plain.example", bed.PlainReceiver);
    }

    [Fact]
    public async Task A_static_verify_rule_still_wins_over_tlsa_records_that_authenticate_nothing()
    {
        // Unusable TLSA records only demand TLS; the rule demands a certificate the system trusts.
        var id = await SendAsync("bob@unusable-verify.example");
        await WaitForMessageAsync(id, "\"attempt\":2", "4.7.5", "DANE");
        Assert.DoesNotContain(T.Receiver.Messages(), m => m.Recipients.Contains("bob@unusable-verify.example"));
    }

    [Fact]
    public async Task A_dane_failure_at_one_mx_tries_the_next()
    {
        await DeliveredWithDaneAsync("bob@twomx.example", " verified policy=dane");
    }
}
