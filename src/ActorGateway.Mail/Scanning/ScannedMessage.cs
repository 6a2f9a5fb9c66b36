using MimeKit;

namespace ActorGateway.Mail.Scanning;

/// <summary>
/// A message's bytes with its MIME structure parsed once, on first use, for every check that
/// needs it (virus scan, spam scoring, DKIM signing). Null <see cref="Mime"/>: not MIME.
/// </summary>
public sealed class ScannedMessage(byte[] bytes)
{
    // One parser per thread, its buffers made once: a parse runs start to end on one thread.
    [ThreadStatic] static MimeParser? _parser;

    readonly Lazy<MimeMessage?> _mime = new(() =>
    {
        var parser = _parser ??= new MimeParser(Stream.Null, MimeFormat.Entity, persistent: true);
        try
        {
            // Persistent: the parts' contents are read from the bytes when a check needs them, not copied out of them.
            parser.SetStream(new MemoryStream(bytes, writable: false), MimeFormat.Entity, persistent: true);
            return parser.ParseMessage();
        }
        catch (FormatException) { return null; }
        finally { parser.SetStream(Stream.Null); } // not to hold the message until the next one
    });

    public byte[] Bytes { get; } = bytes;
    public MimeMessage? Mime => _mime.Value;

    public static implicit operator ScannedMessage(byte[] bytes) => new(bytes);
}
