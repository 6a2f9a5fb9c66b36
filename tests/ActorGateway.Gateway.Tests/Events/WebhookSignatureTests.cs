using System.Security.Cryptography;
using System.Text;
using ActorGateway.Mail.Events;

namespace ActorGateway.Gateway.Tests.Events;

/// <summary>The signature a receiver checks: HMAC-SHA256 over timestamp "." body, hex, with the sha256= prefix.</summary>
public sealed class WebhookSignatureTests
{
    [Fact]
    public void Signature_is_the_hmac_of_timestamp_dot_body()
    {
        var body = Encoding.UTF8.GetBytes("{\"id\":\"x\"}");
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("k3y"), Encoding.UTF8.GetBytes("1700000000.{\"id\":\"x\"}")));
        Assert.Equal("sha256=" + expected, WebhookSignature.Sign("k3y", "1700000000", body));
    }

    [Fact]
    public void Matches_a_signature_computed_by_python_hmac()
    {
        // Computed independently: python3 -c "import hmac,hashlib; print(hmac.new(b'secret', b'1.{}', hashlib.sha256).hexdigest())"
        Assert.Equal("sha256=1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908", WebhookSignature.Sign("secret", "1", "{}"u8));
    }

    [Fact]
    public void A_changed_body_timestamp_or_secret_does_not_verify()
    {
        var body = "{\"type\":\"delivered\"}"u8.ToArray();
        var signature = WebhookSignature.Sign("s", "100", body);
        Assert.True(WebhookSignature.Verify("s", "100", body, signature));
        Assert.False(WebhookSignature.Verify("s", "101", body, signature));
        Assert.False(WebhookSignature.Verify("t", "100", body, signature));
        Assert.False(WebhookSignature.Verify("s", "100", "{\"type\":\"bounced\"}"u8, signature));
        Assert.False(WebhookSignature.Verify("s", "100", body, "sha256=00"));
    }
}
