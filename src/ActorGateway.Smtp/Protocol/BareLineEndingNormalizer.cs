using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Protocol;

/// <summary>
/// Turns every bare CR and bare LF into CRLF while bytes are copied, for input without dot
/// handling (BDAT chunks, whole messages). Streaming: a CR at the end of one piece is judged by
/// the first byte of the next, so chunk and buffer boundaries never change the result.
/// </summary>
/// <remarks>
/// Input without bare line endings, the common case, is checked a vector at a time (not line by
/// line) and appended in one copy per piece, as without normalization; only bare endings split it.
/// </remarks>
public sealed class BareLineEndingNormalizer
{
    static ReadOnlySpan<byte> CrLf => "\r\n"u8;
    bool _pendingCr; // the last piece ended with a CR that was held back

    /// <summary>The first bare line ending seen, or None.</summary>
    public BareLineEnding Found { get; private set; }

    internal void Append(ReadOnlySpan<byte> data, MessageBody body)
    {
        if (data.IsEmpty) return;
        if (_pendingCr)
        {
            _pendingCr = false;
            body.Append(CrLf);
            if (data[0] == (byte)'\n') data = data[1..];
            else Note(BareLineEnding.Cr);
        }
        while (IndexOfBare(data, out var kind) is var i and >= 0)
        {
            Note(kind);
            body.Append(data[..i]);
            body.Append(CrLf);
            data = data[(i + 1)..];
        }
        if (!data.IsEmpty && data[^1] == (byte)'\r') { body.Append(data[..^1]); _pendingCr = true; }
        else body.Append(data);
    }

    /// <summary>Ends the input: a CR held back at its very end was bare.</summary>
    internal void Complete(MessageBody body)
    {
        if (!_pendingCr) return;
        _pendingCr = false;
        Note(BareLineEnding.Cr);
        body.Append(CrLf);
    }

    internal void Reset() { _pendingCr = false; Found = BareLineEnding.None; }

    void Note(BareLineEnding kind) { if (Found == BareLineEnding.None) Found = kind; }

    /// <summary>
    /// The index of the first bare CR or LF in <paramref name="data"/>, or -1. A CR in the last
    /// position is not judged (the byte after it decides) and never returned.
    /// </summary>
    public static int IndexOfBare(ReadOnlySpan<byte> data, out BareLineEnding kind)
    {
        var from = SkipCrLfOnly(data);
        while (true)
        {
            var i = data[from..].IndexOfAny((byte)'\r', (byte)'\n');
            if (i < 0) break;
            i += from;
            if (data[i] == (byte)'\n') { kind = BareLineEnding.Lf; return i; }
            if (i + 1 == data.Length) break;
            if (data[i + 1] != (byte)'\n') { kind = BareLineEnding.Cr; return i; }
            from = i + 2;
        }
        kind = BareLineEnding.None;
        return -1;
    }

    /// <summary>
    /// How far the text has CR exactly where LF follows (CRLF only), checked a vector at a time
    /// rather than line by line; the position returned is never the LF of a CRLF.
    /// </summary>
    static int SkipCrLfOnly(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data[0] == (byte)'\n') return 0;
        ref var start = ref MemoryMarshal.GetReference(data);
        nuint i = 0, length = (nuint)data.Length;
        if (Vector256.IsHardwareAccelerated)
        {
            var cr = Vector256.Create((byte)'\r'); var lf = Vector256.Create((byte)'\n');
            for (; i + (nuint)Vector256<byte>.Count < length; i += (nuint)Vector256<byte>.Count)
                if (Vector256.Equals(Vector256.LoadUnsafe(ref start, i), cr) != Vector256.Equals(Vector256.LoadUnsafe(ref start, i + 1), lf))
                    break;
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var cr = Vector128.Create((byte)'\r'); var lf = Vector128.Create((byte)'\n');
            for (; i + (nuint)Vector128<byte>.Count < length; i += (nuint)Vector128<byte>.Count)
                if (Vector128.Equals(Vector128.LoadUnsafe(ref start, i), cr) != Vector128.Equals(Vector128.LoadUnsafe(ref start, i + 1), lf))
                    break;
        }
        // Every LF before i followed a CR; one at i does too (i > 0), so the search starts after it.
        return i > 0 && data[(int)i] == (byte)'\n' ? (int)i + 1 : (int)i;
    }

    /// <summary>
    /// A whole message with CRLF for every bare CR and LF; the same array when it has none.
    /// For mail the gateway writes itself (NDRs), as a last guarantee.
    /// </summary>
    public static byte[] Normalize(byte[] message)
    {
        var bare = IndexOfBare(message, out _);
        if (bare < 0 && (message.Length == 0 || message[^1] != (byte)'\r')) return message;
        using var body = new MessageBody();
        var normalizer = new BareLineEndingNormalizer();
        normalizer.Append(message, body);
        normalizer.Complete(body);
        return body.ToArray();
    }
}
