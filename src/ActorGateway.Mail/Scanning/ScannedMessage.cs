using MimeKit;

namespace ActorGateway.Mail.Scanning;

/// <summary>
/// A message's bytes with its MIME structure parsed once, on first use, for every check that
/// needs it (virus scan, spam scoring, DKIM signing). Null <see cref="Mime"/>: not MIME.
/// </summary>
public sealed class ScannedMessage(byte[] bytes)
{
    readonly Lazy<MimeMessage?> _mime = new(() =>
    {
        // Persistent: the parts' contents are read from the bytes when a check needs them, not copied out of them.
        try { return MimeMessage.Load(ParserOptions.Default, new MemoryStream(bytes, writable: false), persistent: true); }
        catch (FormatException) { return null; }
    });

    public byte[] Bytes { get; } = bytes;
    public MimeMessage? Mime => _mime.Value;

    public static implicit operator ScannedMessage(byte[] bytes) => new(bytes);
}
