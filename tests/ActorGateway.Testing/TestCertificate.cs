using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Testing;

/// <summary>A self-signed certificate made for one test run and written as PEM files; no key is ever committed.</summary>
public sealed class TestCertificate : IDisposable
{
    public string Directory { get; }
    public string CertificatePath => Path.Combine(Directory, "cert.pem");
    public string KeyPath => Path.Combine(Directory, "key.pem");
    public string PfxPath => Path.Combine(Directory, "cert.pfx");
    public X509Certificate2 Certificate { get; }

    public TestCertificate(string hostName = "localhost")
    {
        Directory = Path.Combine(Path.GetTempPath(), "agw-cert-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
        using var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={hostName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        Certificate = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
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
