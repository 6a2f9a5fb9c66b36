using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// Whether a server's certificate is trusted for the host name it was asked for: the system's
/// root store, plus the operator's extra trust anchors (gateway.delivery.tls.ca-file), e.g. a
/// private CA of partner servers. The name is always checked; an extra anchor only makes up
/// for a chain the system store could not complete.
/// </summary>
public sealed class CertificateTrust(X509Certificate2Collection extraAnchors)
{
    public static CertificateTrust SystemOnly { get; } = new([]);

    public int ExtraAnchors => extraAnchors.Count;

    /// <summary>The CA certificates of a PEM file (every CERTIFICATE block in it).</summary>
    public static CertificateTrust FromPemFile(string path)
    {
        var anchors = new X509Certificate2Collection();
        anchors.ImportFromPemFile(path);
        if (anchors.Count == 0) throw new InvalidDataException($"{path} holds no PEM certificate");
        return new CertificateTrust(anchors);
    }

    /// <summary>For a TLS callback: the platform's verdict (chain and name), and the extra anchors when only the chain failed.</summary>
    public bool IsTrusted(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        // A name mismatch or no certificate at all is never made good by another anchor.
        if (certificate is null || errors != SslPolicyErrors.RemoteCertificateChainErrors || extraAnchors.Count == 0) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(extraAnchors);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // TLS server authentication
        if (chain is not null)
        {
            // The intermediates the server sent along.
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }
}
