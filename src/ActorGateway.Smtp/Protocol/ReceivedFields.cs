using System.Text;

namespace ActorGateway.Smtp.Protocol;

/// <summary>
/// The Received fields in a message's header section (RFC 5322 2.2, folded lines included):
/// counted for the hop limit of RFC 5321 6.3, and removed where the client's servers must not
/// be named to the receivers. The gateway's own hidden lines ("Received: by ... (ActorGateway)")
/// are kept when the others are removed, so that a loop through the gateway still adds a field
/// on every pass and reaches the hop limit.
/// </summary>
public static class ReceivedFields
{
    /// <summary>The number of Received fields in the header section of <paramref name="message"/>.</summary>
    public static int Count(ReadOnlySpan<byte> message)
    {
        var count = 0;
        foreach (var (start, length) in HeaderFields.Of(message))
            if (IsReceived(message.Slice(start, length))) count++;
        return count;
    }

    /// <summary>
    /// <paramref name="message"/> without the Received fields that are not the gateway's own
    /// hidden lines; the same array when there is nothing to remove.
    /// </summary>
    public static byte[] StripForeign(byte[] message)
    {
        List<(int Start, int Length)>? remove = null;
        foreach (var field in HeaderFields.Of(message))
        {
            var bytes = message.AsSpan(field.Start, field.Length);
            if (IsReceived(bytes) && !IsOwnHidden(bytes)) (remove ??= []).Add(field);
        }
        if (remove is null) return message;
        var result = new byte[message.Length - remove.Sum(r => r.Length)];
        int from = 0, to = 0;
        foreach (var (start, length) in remove)
        {
            message.AsSpan(from, start - from).CopyTo(result.AsSpan(to));
            to += start - from;
            from = start + length;
        }
        message.AsSpan(from).CopyTo(result.AsSpan(to));
        return result;
    }

    static bool IsReceived(ReadOnlySpan<byte> field) =>
        field.Length > 9 && Ascii.EqualsIgnoreCase(field[..9], "received:"u8);

    static bool IsOwnHidden(ReadOnlySpan<byte> field)
    {
        var value = field[9..].TrimStart(" \t"u8);
        return value.Length > 3 && Ascii.EqualsIgnoreCase(value[..3], "by "u8)
               && field.IndexOf(Encoding.ASCII.GetBytes(" " + TraceHeader.Product)) >= 0;
    }
}
