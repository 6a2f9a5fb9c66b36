using System.Security.Cryptography;

namespace ActorGateway.Mail.Queue;

/// <summary>
/// Queue ids like Postfix's: short, unique across the cluster, and sortable by arrival
/// (48 bits of milliseconds, 32 random bits, in Crockford base32).
/// </summary>
public static class QueueId
{
    const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New()
    {
        Span<byte> bytes = stackalloc byte[10];
        var ms = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--) { bytes[i] = (byte)ms; ms >>= 8; }
        RandomNumberGenerator.Fill(bytes[6..]);
        Span<char> chars = stackalloc char[16];
        ulong acc = 0; int bits = 0, at = 0;
        foreach (var b in bytes)
        {
            acc = (acc << 8) | b; bits += 8;
            while (bits >= 5) { bits -= 5; chars[at++] = Alphabet[(int)((acc >> bits) & 31)]; }
        }
        return new string(chars[..at]);
    }
}
