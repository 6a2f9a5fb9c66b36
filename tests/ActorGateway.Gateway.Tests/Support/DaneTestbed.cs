using System.Security.Cryptography;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>
/// One gateway node whose DNS is a responder that sets the AD bit as a validating resolver does,
/// with receivers (aiosmtpd) on the delivery port: 127.0.0.1 with a certificate from a test CA,
/// <see cref="PlainAddress"/> without STARTTLS, <see cref="RequireTlsAddress"/> with the same
/// certificate and REQUIRETLS. Each recipient domain is another DANE situation:
/// ee (DANE-EE match), ta (DANE-TA match), mismatch, tawrong (DANE-TA, leaf for another name),
/// insecure (MX not validated), unusable (only unusable records), servfail (TLSA lookup fails),
/// plain (TLSA, receiver without STARTTLS), nodane-plain (no TLSA, no STARTTLS), twomx (a
/// mismatching MX first, then a matching one), rt (DANE-EE and REQUIRETLS), nodane-rt
/// (REQUIRETLS receiver, no TLSA). Static rules: verify for ee-verify and unusable-verify
/// (same MX hosts as ee and unusable), encrypt+reject for tlsno (the plaintext receiver).
/// </summary>
public sealed class DaneTestbed : IAsyncLifetime
{
    public const string PlainAddress = "127.0.0.5", RequireTlsAddress = "127.0.0.6";

    public DnssecResponder Dns { get; } = new();
    public TestCertificateAuthority Ca { get; } = new();
    public TestCertificate ReceiverCertificate { get; private set; } = null!;
    public GatewayTestbed Testbed { get; private set; } = null!;
    public TestMailReceiver PlainReceiver { get; private set; } = null!;
    public TestMailReceiver RequireTlsReceiver { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ReceiverCertificate = TestCertificate.IssuedBy(Ca, "mx.ta.example");
        Dns.Mx("sender.example", "mail.sender.example").A("mail.sender.example", "127.0.0.1");
        Testbed = await GatewayTestbed.StartAsync(startReceiver: false, dnsServerOverride: Dns.Endpoint, extraHocon: """
            gateway.tls-policy = [
              { name = verify-ee, recipient-domain = "ee-verify.example", level = verify, on-failure = hold }
              { name = verify-unusable, recipient-domain = "unusable-verify.example", level = verify, on-failure = hold }
              { name = encrypt-tlsno, recipient-domain = "tlsno.example", level = encrypt, on-failure = reject }
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
        Dns.Mx("tlsno.example", "mx.nodane-plain.example");
        Dns.Mx("twomx.example", "mx.mismatch.example", 10).Mx("twomx.example", "mx.ee.example", 20);
        Domain("rt.example", RequireTlsAddress); Dns.Tlsa(tlsa + "mx.rt.example", 3, 1, 1, leafSpki);
        Domain("nodane-rt.example", RequireTlsAddress);

        await Testbed.StartReceiverAsync(ReceiverCertificate);
        PlainReceiver = await TestMailReceiver.StartAsync(PlainAddress, Testbed.DeliveryPort);
        RequireTlsReceiver = await TestMailReceiver.StartAsync(RequireTlsAddress, Testbed.DeliveryPort, ReceiverCertificate, requireTls: true);
    }

    public async Task DisposeAsync()
    {
        await Testbed.DisposeAsync();
        await PlainReceiver.DisposeAsync();
        await RequireTlsReceiver.DisposeAsync();
        await Dns.DisposeAsync();
        ReceiverCertificate.Dispose();
        Ca.Dispose();
    }

    /// <summary>The node's view of the message (queue entry or delivery record) once it has every one of <paramref name="parts"/>.</summary>
    public async Task<string> WaitForMessageAsync(string id, params string[] parts)
    {
        var json = "";
        await Eventually.WaitAsync(async () => parts.All((json = await Testbed.MessageJsonAsync(id)).Contains), TimeSpan.FromSeconds(45),
            () => $"{id} never showed {string.Join(", ", parts)}:\n{json}\n{Testbed.Gateway.Output}");
        return json;
    }
}
