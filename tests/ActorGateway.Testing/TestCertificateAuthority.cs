using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Testing;

/// <summary>A certificate authority made for one test run, to issue server certificates (<see cref="TestCertificate.IssuedBy"/>).</summary>
public sealed class TestCertificateAuthority : IDisposable
{
    public X509Certificate2 Certificate { get; }
    readonly TempDirectory _dir = new();
    /// <summary>The CA certificate as a PEM file: what a node is told to trust (gateway.delivery.tls.ca-file).</summary>
    public string CertificatePath
    {
        get
        {
            var path = _dir.File("ca.pem");
            if (!File.Exists(path)) File.WriteAllText(path, Certificate.ExportCertificatePem());
            return path;
        }
    }

    /// <summary>A server certificate for <paramref name="hostName"/>, signed by this authority.</summary>
    public TestCertificate Issue(string hostName) => TestCertificate.IssuedBy(this, hostName);
    // Kept for the life of the CA: it signs what IssuedBy makes.
    readonly RSA _key = RSA.Create(2048);

    /// <param name="issuer">null: a self-signed root; else an intermediate CA signed by it.</param>
    public TestCertificateAuthority(string name = "ActorGateway Test CA", TestCertificateAuthority? issuer = null)
    {
        var req = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        var (from, until) = (DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(60));
        if (issuer is null) Certificate = req.CreateSelfSigned(from, until);
        else
        {
            using var issued = req.Create(issuer.Certificate, from.AddHours(1), until.AddHours(-1), RandomNumberGenerator.GetBytes(8));
            Certificate = issued.CopyWithPrivateKey(_key);
        }
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
        _dir.Dispose();
    }
}
