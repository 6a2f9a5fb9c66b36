using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Testing;

/// <summary>
/// A certificate authority made for one test run: its certificate as a PEM file (what a node is
/// told to trust), and server certificates it issues for host names.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    readonly TempDirectory _dir = new();
    // Kept for the life of the authority: it signs with it.
    readonly RSA _key = RSA.Create(2048);
    public X509Certificate2 Certificate { get; }
    public string CertificatePath => _dir.File("ca.pem");

    public TestCertificateAuthority(string name = "ActorGateway Test CA")
    {
        var req = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        Certificate = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(60));
        File.WriteAllText(CertificatePath, Certificate.ExportCertificatePem());
    }

    /// <summary>A server certificate for <paramref name="hostName"/>, signed by this authority.</summary>
    public TestCertificate Issue(string hostName) => new(hostName, Certificate);

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
        _dir.Dispose();
    }
}
