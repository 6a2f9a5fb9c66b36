using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Smtp.Hosting;

/// <summary>Loads an endpoint's certificate from a PEM pair or a PFX file.</summary>
public static class ServerCertificate
{
    public static X509Certificate2? Load(SmtpEndpointOptions endpoint)
    {
        if (string.IsNullOrEmpty(endpoint.CertificatePath)) return null;
        var path = endpoint.CertificatePath;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
        {
            var password = endpoint.CertificatePasswordEnv is { } env ? Environment.GetEnvironmentVariable(env) : null;
            return X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        using var pem = X509Certificate2.CreateFromPemFile(path, endpoint.KeyPath);
        // Re-import so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
