using ActorGateway.Mail.Delivery;
using MimeKit;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>What REQUIRETLS demands of a connection (RFC 8689 4.2.1), and the TLS-Required field (4.1).</summary>
public sealed class RequireTlsCheckTests
{
    [Theory]
    [InlineData(TlsPolicySource.Dane)]
    [InlineData(TlsPolicySource.MtaSts)]
    public void Verified_tls_through_a_published_policy_to_a_server_offering_requiretls_passes(TlsPolicySource source) =>
        Assert.Null(RequireTlsCheck.Refusal(encrypted: true, source, verified: true, serverOffersRequireTls: true));

    [Theory]
    [InlineData(false, TlsPolicySource.None, false, true, "5.7.10")]    // plaintext
    [InlineData(true, TlsPolicySource.None, false, true, "5.7.10")]     // opportunistic TLS
    [InlineData(true, TlsPolicySource.Static, true, true, "5.7.10")]    // verified by the system's CAs only: not the domain's policy
    [InlineData(true, TlsPolicySource.Dane, false, true, "5.7.10")]     // DANE with only unusable records
    [InlineData(true, TlsPolicySource.Dane, true, false, "5.7.30")]     // the next hop cannot carry the requirement on
    public void Anything_less_is_refused(bool encrypted, TlsPolicySource source, bool verified, bool offers, string code) =>
        Assert.Equal(code, RequireTlsCheck.Refusal(encrypted, source, verified, offers)?.StatusCode);

    [Theory]
    [InlineData("TLS-Required: No", true)]
    [InlineData("tls-required:   no  ", true)]
    [InlineData("TLS-Required: Yes", false)]
    [InlineData("X-TLS-Required: No", false)]
    [InlineData("", false)]
    public void Tls_required_no_is_recognised(string header, bool expected)
    {
        var message = MimeMessage.Load(new MemoryStream(System.Text.Encoding.ASCII.GetBytes($"Subject: x\r\n{header}{(header.Length > 0 ? "\r\n" : "")}\r\nbody\r\n")));
        Assert.Equal(expected, TlsRequiredHeader.SaysNo(message.Headers));
    }
}
