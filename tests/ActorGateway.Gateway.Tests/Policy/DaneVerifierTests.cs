using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ActorGateway.Mail.Delivery;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>
/// TLSA matching (RFC 7672 3.1): every DANE-EE selector and matching type, DANE-TA with its
/// chain and name checks, and the records SMTP cannot use.
/// </summary>
public sealed class DaneVerifierTests(DaneVerifierTests.Certificates certificates) : IClassFixture<DaneVerifierTests.Certificates>
{
    /// <summary>Two CAs and a leaf from each, made once for the class (RSA keys are slow to make).</summary>
    public sealed class Certificates : IDisposable
    {
        public TestCertificateAuthority Ca { get; } = new();
        public TestCertificateAuthority OtherCa { get; } = new("Another CA");
        public TestCertificate Leaf { get; }
        public TestCertificate ForeignLeaf { get; }

        public Certificates()
        {
            Leaf = TestCertificate.IssuedBy(Ca, "mx.dane.example");
            ForeignLeaf = TestCertificate.IssuedBy(OtherCa, "mx.dane.example");
        }

        public void Dispose()
        {
            Leaf.Dispose(); ForeignLeaf.Dispose(); Ca.Dispose(); OtherCa.Dispose();
        }
    }

    readonly TestCertificateAuthority _ca = certificates.Ca;
    readonly TestCertificateAuthority _otherCa = certificates.OtherCa;
    readonly TestCertificate _leaf = certificates.Leaf;
    readonly TestCertificate _foreignLeaf = certificates.ForeignLeaf;
    static readonly string[] Names = ["mx.dane.example", "dane.example"];

    static byte[] Select(X509Certificate2 c, byte selector) =>
        selector == 0 ? c.RawData : c.PublicKey.ExportSubjectPublicKeyInfo();

    static byte[] Digest(byte[] data, byte matchingType) => matchingType switch
    {
        0 => data,
        1 => SHA256.HashData(data),
        _ => SHA512.HashData(data),
    };

    static TlsaAssociation Record(byte usage, byte selector, byte matchingType, X509Certificate2 c) =>
        new(usage, selector, matchingType, Digest(Select(c, selector), matchingType));

    DaneVerdict Verify(IEnumerable<TlsaAssociation> records, TestCertificate leaf, params X509Certificate2[] chain) =>
        DaneVerifier.Verify(records, leaf.Certificate, [leaf.Certificate, .. chain], Names);

    [Theory]
    [InlineData(0, 0)] [InlineData(0, 1)] [InlineData(0, 2)]
    [InlineData(1, 0)] [InlineData(1, 1)] [InlineData(1, 2)]
    public void Dane_ee_matches_the_leaf_by_every_selector_and_matching_type(byte selector, byte matchingType)
    {
        var verdict = Verify([Record(3, selector, matchingType, _leaf.Certificate)], _leaf);
        Assert.True(verdict.Verified, verdict.Detail);
        Assert.Contains("DANE-EE", verdict.Detail);
    }

    [Fact]
    public void Dane_ee_refuses_another_key()
    {
        var verdict = Verify([Record(3, 1, 1, _foreignLeaf.Certificate)], _leaf, _ca.Certificate);
        Assert.False(verdict.Verified);
        Assert.Contains("matches no DANE-EE", verdict.Detail);
    }

    [Fact]
    public void Dane_ee_checks_neither_name_nor_expiry()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=some.other.name", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var expired = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        var verdict = DaneVerifier.Verify([Record(3, 1, 1, expired)], expired, [expired], Names);
        Assert.True(verdict.Verified, verdict.Detail);
    }

    [Theory]
    [InlineData(0, 1)] [InlineData(1, 1)] [InlineData(0, 0)] [InlineData(1, 2)]
    public void Dane_ta_matches_a_ca_the_server_sent_and_the_chain_and_name_check_out(byte selector, byte matchingType)
    {
        var verdict = Verify([Record(2, selector, matchingType, _ca.Certificate)], _leaf, _ca.Certificate);
        Assert.True(verdict.Verified, verdict.Detail);
        Assert.Contains("DANE-TA", verdict.Detail);
    }

    [Fact]
    public void Dane_ta_may_be_an_intermediate_ca_whose_root_is_unknown()
    {
        using var intermediate = new TestCertificateAuthority("Intermediate CA", _ca);
        using var leaf = TestCertificate.IssuedBy(intermediate, "mx.dane.example");
        var verdict = Verify([Record(2, 1, 1, intermediate.Certificate)], leaf, intermediate.Certificate);
        Assert.True(verdict.Verified, verdict.Detail);
        // The root alone does not anchor a chain the server did not send it with.
        Assert.False(Verify([Record(2, 0, 1, _ca.Certificate)], leaf, intermediate.Certificate).Verified);
    }

    [Fact]
    public void Dane_ta_accepts_the_recipient_domain_as_the_name()
    {
        using var leaf = TestCertificate.IssuedBy(_ca, "dane.example");
        var verdict = Verify([Record(2, 0, 1, _ca.Certificate)], leaf, _ca.Certificate);
        Assert.True(verdict.Verified, verdict.Detail);
    }

    [Fact]
    public void Dane_ta_refuses_a_leaf_for_another_name()
    {
        using var leaf = TestCertificate.IssuedBy(_ca, "mx.elsewhere.example");
        var verdict = Verify([Record(2, 0, 1, _ca.Certificate)], leaf, _ca.Certificate);
        Assert.False(verdict.Verified);
        Assert.Contains("names none of", verdict.Detail);
    }

    [Fact]
    public void Dane_ta_needs_the_anchor_in_the_presented_chain()
    {
        var verdict = Verify([Record(2, 0, 1, _ca.Certificate)], _leaf);
        Assert.False(verdict.Verified);
        Assert.Contains("no certificate in the server's chain", verdict.Detail);
    }

    [Fact]
    public void Dane_ta_refuses_a_leaf_the_anchor_did_not_sign()
    {
        // The server sends the published CA next to a leaf from another CA.
        var verdict = Verify([Record(2, 0, 1, _ca.Certificate)], _foreignLeaf, _ca.Certificate, _otherCa.Certificate);
        Assert.False(verdict.Verified);
        Assert.Contains("does not verify", verdict.Detail);
    }

    [Fact]
    public void Dane_ta_does_not_take_the_leaf_as_its_own_anchor()
    {
        var verdict = Verify([Record(2, 0, 1, _leaf.Certificate)], _leaf, _ca.Certificate);
        Assert.False(verdict.Verified);
    }

    [Theory]
    [InlineData(0, 1, 1, 32)]   // PKIX-TA: not for SMTP
    [InlineData(1, 1, 1, 32)]   // PKIX-EE: not for SMTP
    [InlineData(4, 1, 1, 32)]   // unknown usage
    [InlineData(3, 2, 1, 32)]   // unknown selector
    [InlineData(3, 1, 3, 32)]   // unknown matching type
    [InlineData(3, 1, 1, 31)]   // SHA-256 of the wrong length
    [InlineData(3, 1, 2, 32)]   // SHA-512 of the wrong length
    [InlineData(3, 0, 0, 0)]    // empty exact match
    public void Records_smtp_cannot_use_are_unusable_and_never_verify(byte usage, byte selector, byte matchingType, int length)
    {
        var record = new TlsaAssociation(usage, selector, matchingType, new byte[length]);
        Assert.False(record.IsUsable);
        var verdict = Verify([record], _leaf, _ca.Certificate);
        Assert.False(verdict.Verified);
        Assert.Contains("no usable TLSA records", verdict.Detail);
    }

    [Fact]
    public void An_unusable_record_next_to_a_usable_one_is_left_out()
    {
        // A PKIX-EE record with the right digest does not count; the DANE-EE one does.
        var pkix = Record(1, 1, 1, _leaf.Certificate);
        Assert.False(Verify([pkix], _leaf, _ca.Certificate).Verified);
        Assert.True(Verify([pkix, Record(3, 1, 1, _leaf.Certificate)], _leaf, _ca.Certificate).Verified);
    }
}
