using System.Security.Cryptography;
using System.Text;

namespace ActorGateway.Mail.Events;

/// <summary>
/// The signature of a webhook POST: HMAC-SHA256 with the tenant's secret over the timestamp
/// (Unix seconds, as sent in the timestamp header), a dot and the raw body. The timestamp is
/// signed too, so that a receiver can refuse old requests replayed by someone who saw one.
/// </summary>
public static class WebhookSignature
{
    public const string TimestampHeader = "X-ActorGateway-Timestamp";
    public const string SignatureHeader = "X-ActorGateway-Signature";
    public const string EventIdHeader = "X-ActorGateway-Event-Id";

    /// <summary>"sha256=" and the lower-case hex of the HMAC.</summary>
    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }

    /// <summary>What a receiver does: compares in constant time.</summary>
    public static bool Verify(string secret, string timestamp, ReadOnlySpan<byte> body, string signature) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, timestamp, body)), Encoding.ASCII.GetBytes(signature));
}
