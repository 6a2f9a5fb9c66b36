using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Testing;

/// <summary>A certificate (self-signed, or issued by a test CA) made for one test run and written as PEM files; no key is ever committed.</summary>
public sealed class TestCertificate : IDisposable
{
    public string Directory { get; }
    public string CertificatePath => Path.Combine(Directory, "cert.pem");
    public string KeyPath => Path.Combine(Directory, "key.pem");
    public string PfxPath => Path.Combine(Directory, "cert.pfx");
    public X509Certificate2 Certificate { get; }

    public TestCertificate(string hostName = "localhost")
    {
        using var key = RSA.Create(2048);
        var certificate = Request(hostName, key).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        (Directory, Certificate) = Write(certificate, key, []);
    }

    TestCertificate(X509Certificate2 certificate, RSA key, IEnumerable<X509Certificate2> chain) =>
        (Directory, Certificate) = Write(certificate, key, chain);

    /// <summary>A certificate for these names signed by <paramref name="issuer"/>; its PEM file holds the issuer after it, as servers send their chain.</summary>
    public static TestCertificate IssuedBy(TestCertificateAuthority issuer, params string[] hostNames)
    {
        using var key = RSA.Create(2048);
        var serial = RandomNumberGenerator.GetBytes(8);
        using var issued = Request(hostNames[0], key, hostNames[1..]).Create(issuer.Certificate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return new TestCertificate(issued.CopyWithPrivateKey(key), key, [issuer.Certificate]);
    }

    static CertificateRequest Request(string hostName, RSA key, params string[] otherNames)
    {
        var req = new CertificateRequest($"CN={hostName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in otherNames.Prepend(hostName)) san.AddDnsName(name);
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        return req;
    }

    static (string Directory, X509Certificate2 Certificate) Write(X509Certificate2 certificate, RSA key, IEnumerable<X509Certificate2> chain)
    {
        var directory = Path.Combine(Path.GetTempPath(), "agw-cert-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "cert.pem"), string.Concat(chain.Prepend(certificate).Select(c => c.ExportCertificatePem() + "\n")));
        File.WriteAllText(Path.Combine(directory, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllBytes(Path.Combine(directory, "cert.pfx"), certificate.Export(X509ContentType.Pkcs12));
        return (directory, certificate);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch { }
    }
}
