using MimeKit;

namespace ActorGateway.Mail.Scanning;

/// <summary>
/// What a scanner looks at: every MIME leaf part decoded (base64, quoted-printable), then the
/// message as received, each with a name for the report. Parts first, so a finding names the
/// attachment rather than the whole message.
/// </summary>
public static class MessageParts
{
    public static IEnumerable<(string Name, byte[] Content)> Enumerate(ReadOnlyMemory<byte> message)
    {
        var raw = message.ToArray();
        MimeMessage? parsed;
        try { parsed = MimeMessage.Load(new MemoryStream(raw, writable: false)); }
        catch (FormatException) { parsed = null; } // not MIME: only the raw bytes are scanned
        foreach (var part in parsed is null ? [] : DecodedParts(parsed)) yield return part;
        yield return ("message", raw);
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
