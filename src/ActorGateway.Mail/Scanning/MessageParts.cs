using MimeKit;

namespace ActorGateway.Mail.Scanning;

/// <summary>
/// What a scanner looks at: every MIME leaf part decoded (base64, quoted-printable), then the
/// message as received, each with a name for the report. Parts first, so a finding names the
/// attachment rather than the whole message.
/// </summary>
public static class MessageParts
{
    public static IEnumerable<(string Name, byte[] Content)> Enumerate(ScannedMessage message)
    {
        // Not MIME: only the raw bytes are scanned.
        foreach (var part in message.Mime is { } mime ? DecodedParts(mime) : []) yield return part;
        yield return ("message", message.Bytes);
    }

    static IEnumerable<(string Name, byte[] Content)> DecodedParts(MimeMessage parsed)
    {
        var index = 0;
        foreach (var entity in parsed.BodyParts)
        {
            index++;
            if (entity is not MimePart part || part.Content is null) continue;
            using var decoded = new MemoryStream();
            part.Content.DecodeTo(decoded);
            yield return (part.FileName ?? $"part {index} ({part.ContentType.MimeType})", decoded.ToArray());
        }
    }
}
