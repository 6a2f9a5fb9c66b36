using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Testing;

/// <summary>
/// A certificate made for one test run and written as PEM files, self-signed or issued by a
/// <see cref="TestCertificateAuthority"/>; no key is ever committed.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    public string Directory { get; }
    public string CertificatePath => Path.Combine(Directory, "cert.pem");
    public string KeyPath => Path.Combine(Directory, "key.pem");
    public string PfxPath => Path.Combine(Directory, "cert.pfx");
    public X509Certificate2 Certificate { get; }

    public TestCertificate(string hostName = "localhost") : this(hostName, null) { }

    /// <summary>A server certificate for <paramref name="hostName"/> issued by <paramref name="issuer"/> (self-signed without one).</summary>
    internal TestCertificate(string hostName, X509Certificate2? issuer)
    {
        Directory = Path.Combine(Path.GetTempPath(), "agw-cert-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={hostName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(30);
        if (issuer is null) Certificate = req.CreateSelfSigned(notBefore, notAfter);
        else
        {
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var issued = req.Create(issuer, notBefore, notAfter, RandomNumberGenerator.GetBytes(16));
            Certificate = issued.CopyWithPrivateKey(key);
        }
        File.WriteAllText(CertificatePath, Certificate.ExportCertificatePem());
        File.WriteAllText(KeyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllBytes(PfxPath, Certificate.Export(X509ContentType.Pkcs12));
    }

    public void Dispose()
    {
        Certificate.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch { }
    }
}
