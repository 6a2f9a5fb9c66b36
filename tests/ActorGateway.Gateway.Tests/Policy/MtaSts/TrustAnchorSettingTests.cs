using ActorGateway.Node.Configuration;
using ActorGateway.Testing;
using Akka.Configuration;

namespace ActorGateway.Gateway.Tests.Policy.MtaSts;

/// <summary>gateway.delivery.tls.ca-file: PEM CA certificates, read at start-up; a file without one stops the start.</summary>
public sealed class TrustAnchorSettingTests
{
    static GatewaySettings Read(string path) =>
        GatewayConfig.Read(ConfigurationFactory.ParseString($"gateway.delivery.tls.ca-file = \"{path}\"").WithFallback(GatewayConfig.Load([])));

    [Fact]
    public void A_pem_file_of_ca_certificates_is_read()
    {
        using var ca = new TestCertificateAuthority();
        Assert.Equal(1, Read(ca.CertificatePath).Delivery.Trust.ExtraAnchors);
    }

    [Fact]
    public void A_file_without_a_certificate_names_the_key_and_the_problem()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("ca.pem"), "not a certificate\n");
        var e = Assert.Throws<BadConfigurationException>(() => Read(dir.File("ca.pem")));
        Assert.Equal("gateway.delivery.tls.ca-file", e.Key);
        Assert.Contains("holds no usable PEM certificate", e.Problem);
    }
}
