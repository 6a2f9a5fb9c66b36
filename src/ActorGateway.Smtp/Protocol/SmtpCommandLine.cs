using System.Text;

namespace ActorGateway.Smtp.Protocol;

/// <summary>A command line split into its verb (upper case) and the rest.</summary>
public readonly record struct SmtpCommandLine(string Verb, string Argument)
{
    /// <summary>
    /// Splits a command line (without CRLF). Returns false for lines that are not printable
    /// US-ASCII or UTF-8 text, so binary garbage becomes a syntax error, never an exception.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out SmtpCommandLine command)
    {
        command = default;
        foreach (var b in line)
            if (b < 0x20 && b != '\t') return false; // NUL, bare CR/LF and other controls

        string text;
        try { text = Strict.GetString(line); }
        catch (DecoderFallbackException) { return false; }

        var space = text.IndexOf(' ');
        var verb = space < 0 ? text : text[..space];
        if (verb.Length == 0 || verb.Length > 16) return false;
        command = new SmtpCommandLine(verb.ToUpperInvariant(), space < 0 ? "" : text[(space + 1)..]);
        return true;
    }

    static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);
}
