using System.Text;
using MimeKit;
using MimeKit.Cryptography;

namespace ActorGateway.Mail.Signing;

/// <summary>
/// DKIM signing per sender domain (RFC 6376; Ed25519 per RFC 8463), relaxed/relaxed. Keys are
/// loaded at start-up, so a missing or unreadable key stops the gateway instead of letting
/// mail leave unsigned. The signature header is prepended to the message's exact bytes.
/// </summary>
public sealed class DkimSigning
{
    /// <summary>From twice: over-signed, so no second From can be added after signing.</summary>
    public static readonly IReadOnlyList<string> DefaultHeaders =
        ["From", "From", "Reply-To", "Sender", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
         "MIME-Version", "Content-Type", "Content-Transfer-Encoding"];

    readonly Dictionary<string, DkimSigner> _signers = new(StringComparer.OrdinalIgnoreCase);
    readonly string[] _headers;

    public DkimSigning(IEnumerable<DkimKey> keys, IReadOnlyList<string>? headers = null)
    {
        _headers = (headers ?? DefaultHeaders).ToArray();
        foreach (var key in keys)
        {
            if (!File.Exists(key.KeyPath)) throw new FileNotFoundException($"DKIM key for {key.Domain} not found: {key.KeyPath}", key.KeyPath);
            DkimSigner signer;
            try
            {
                signer = new DkimSigner(key.KeyPath, key.Domain, key.Selector,
                    key.Algorithm == DkimAlgorithm.Ed25519Sha256 ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256);
            }
            catch (Exception e) when (e is not FileNotFoundException)
            {
                throw new InvalidOperationException($"DKIM key for {key.Domain} ({key.KeyPath}) cannot be read: {e.Message}", e);
            }
            signer.HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
            signer.BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed;
            _signers[key.Domain] = signer;
        }
    }

    public bool HasKey(string domain) => _signers.ContainsKey(domain);

    /// <summary>The message with a DKIM-Signature for <paramref name="domain"/> in front, or unchanged when the domain has no key.</summary>
    /// <remarks>Adds the signature to the parsed <see cref="ScannedMessage.Mime"/>: sign last.</remarks>
    public byte[] Sign(string domain, ActorGateway.Mail.Scanning.ScannedMessage scanned)
    {
        var message = scanned.Bytes;
        if (!_signers.TryGetValue(domain, out var signer) || scanned.Mime is not { } parsed) return message;
        var headers = _headers.Where(h => h.Equals("From", StringComparison.OrdinalIgnoreCase) || parsed.Headers.Contains(h)).ToArray();
        signer.Sign(FormatOptions.Default, parsed, headers);
        var signature = parsed.Headers.First(h => h.Id == HeaderId.DkimSignature);
        var line = Encoding.ASCII.GetBytes($"{signature.Field}:{Unfolded(signature.RawValue)}\r\n");
        return [.. line, .. message];
    }

    // The raw value as MimeKit folded it, with CRLF line ends and no final line end.
    static string Unfolded(byte[] raw) => Encoding.ASCII.GetString(raw).Replace("\r\n", "\n").Replace("\n", "\r\n").TrimEnd('\r', '\n');
}
