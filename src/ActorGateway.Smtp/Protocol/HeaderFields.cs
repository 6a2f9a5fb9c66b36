using System.Text;

namespace ActorGateway.Smtp.Protocol;

/// <summary>
/// The fields of a message's header section (RFC 5322 2.2), found in its bytes: for a look at a
/// field or two where parsing the whole message would cost a MIME parser per message.
/// </summary>
public static class HeaderFields
{
    /// <summary>Each header field (with its folded continuation lines and line ending), up to the empty line.</summary>
    public static List<(int Start, int Length)> Of(ReadOnlySpan<byte> message)
    {
        var fields = new List<(int, int)>();
        var at = 0;
        int fieldStart = -1;
        while (at < message.Length)
        {
            var eol = message[at..].IndexOf((byte)'\n');
            var next = eol < 0 ? message.Length : at + eol + 1;
            var line = message[at..next];
            var isEmpty = line.Length == 0 || line[0] == '\n' || (line[0] == '\r' && line.Length > 1 && line[1] == '\n');
            if (isEmpty) break;
            var continues = line[0] is (byte)' ' or (byte)'\t';
            if (!continues)
            {
                if (fieldStart >= 0) fields.Add((fieldStart, at - fieldStart));
                fieldStart = at;
            }
            at = next;
        }
        if (fieldStart >= 0) fields.Add((fieldStart, at - fieldStart));
        return fields;
    }

    /// <summary>
    /// Where the value of the first field named <paramref name="name"/> (ASCII, any case; white
    /// space before the colon allowed, RFC 5322 4.5) lies: from after the colon to the end of the
    /// field, folded lines and line ending included. False when there is no such field.
    /// </summary>
    public static bool TryFindFirst(ReadOnlySpan<byte> message, string name, out int start, out int length)
    {
        foreach (var (fieldStart, fieldLength) in Of(message))
        {
            var field = message.Slice(fieldStart, fieldLength);
            if (field.Length <= name.Length || !Ascii.EqualsIgnoreCase(field[..name.Length], name)) continue;
            var colon = name.Length;
            while (colon < field.Length && field[colon] is (byte)' ' or (byte)'\t') colon++;
            if (colon == field.Length || field[colon] != ':') continue;
            start = fieldStart + colon + 1;
            length = fieldLength - colon - 1;
            return true;
        }
        start = length = 0;
        return false;
    }
}
