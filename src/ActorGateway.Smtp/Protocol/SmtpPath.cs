namespace ActorGateway.Smtp.Protocol;

/// <summary>
/// A reverse-path or forward-path of RFC 5321 4.1.2: <c>&lt;local@domain&gt;</c>, the null
/// path <c>&lt;&gt;</c>, or <c>&lt;postmaster&gt;</c>. Source routes are accepted and dropped
/// as RFC 5321 Appendix C asks.
/// </summary>
public sealed record SmtpPath(string LocalPart, string Domain)
{
    public static SmtpPath Null { get; } = new("", "");

    public bool IsNull => LocalPart.Length == 0 && Domain.Length == 0;
    public bool IsPostmaster => Domain.Length == 0 && LocalPart.Equals("postmaster", StringComparison.OrdinalIgnoreCase);
    public string Address => IsNull ? "" : Domain.Length == 0 ? LocalPart : $"{LocalPart}@{Domain}";
    public bool IsInternational => Address.Any(c => c > 0x7f);

    public override string ToString() => $"<{Address}>";

    public const int MaxPathLength = 256;   // RFC 5321 4.5.3.1.3
    const int MaxLocalPartLength = 64;      // RFC 5321 4.5.3.1.1
    const int MaxDomainLength = 255;        // RFC 5321 4.5.3.1.2

    /// <summary>
    /// Parses "&lt;path&gt; params" (the text after "FROM:" or "TO:"). Returns the path and
    /// the remainder holding the ESMTP parameters, or an error text.
    /// </summary>
    public static bool TryParse(string text, out SmtpPath path, out string parameters, out string error)
    {
        path = Null; parameters = ""; error = "";
        text = text.TrimStart(' ');
        if (text.Length == 0 || text[0] != '<') { error = "Address must be enclosed in <>"; return false; }

        // Find the closing '>' outside a quoted local part.
        var close = -1; var quoted = false;
        for (var i = 1; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted && c == '\\') { i++; continue; }
            if (c == '"') quoted = !quoted;
            else if (c == '>' && !quoted) { close = i; break; }
        }
        if (close < 0) { error = "Unterminated address"; return false; }
        var inner = text[1..close];
        parameters = text[(close + 1)..].Trim(' ');
        if (close + 1 < text.Length && text[close + 1] != ' ') { error = "Missing space after address"; return false; }
        if (inner.Length > MaxPathLength) { error = "Address too long"; return false; }

        if (inner.Length == 0) { path = Null; return true; }

        // Source route "@a,@b:" (obsolete) is dropped.
        if (inner[0] == '@')
        {
            var colon = inner.IndexOf(':');
            if (colon < 0) { error = "Bad source route"; return false; }
            inner = inner[(colon + 1)..];
        }

        var at = LastAtOutsideQuotes(inner);
        if (at < 0)
        {
            if (inner.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) { path = new SmtpPath(inner, ""); return true; }
            error = "Address must have a domain"; return false;
        }
        var local = inner[..at];
        var domain = inner[(at + 1)..];
        if (!IsValidLocalPart(local)) { error = "Bad local part"; return false; }
        if (!IsValidDomain(domain)) { error = "Bad domain"; return false; }
        path = new SmtpPath(local, domain);
        return true;
    }

    static int LastAtOutsideQuotes(string s)
    {
        var quoted = false; var at = -1;
        for (var i = 0; i < s.Length; i++)
        {
            if (quoted && s[i] == '\\') { i++; continue; }
            if (s[i] == '"') quoted = !quoted;
            else if (s[i] == '@' && !quoted) at = i;
        }
        return at;
    }

    static bool IsValidLocalPart(string local)
    {
        if (local.Length is 0 or > MaxLocalPartLength) return false;
        if (local[0] == '"')
        {
            if (local.Length < 2 || local[^1] != '"') return false;
            for (var i = 1; i < local.Length - 1; i++)
            {
                var c = local[i];
                if (c == '\\') { i++; if (i >= local.Length - 1) return false; continue; }
                if (c == '"' || c < 0x20 || c == 0x7f) return false;
            }
            return true;
        }
        // dot-atom: atoms of atext separated by single dots (RFC 5322 3.2.3, UTF-8 per RFC 6531)
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..")) return false;
        foreach (var c in local)
            if (!(char.IsAsciiLetterOrDigit(c) || c > 0x7f || c == '.' || "!#$%&'*+-/=?^_`{|}~".Contains(c))) return false;
        return true;
    }

    /// <summary>A domain name of letter-digit-hyphen labels (or U-labels), or an address literal.</summary>
    public static bool IsValidDomain(string domain)
    {
        if (domain.Length is 0 or > MaxDomainLength) return false;
        if (domain[0] == '[')
        {
            if (domain[^1] != ']') return false;
            var literal = domain[1..^1];
            if (literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
                return System.Net.IPAddress.TryParse(literal[5..], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
            return System.Net.IPAddress.TryParse(literal, out var v4) && v4.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && literal.Count(c => c == '.') == 3;
        }
        foreach (var label in domain.Split('.'))
        {
            if (label.Length is 0 or > 63) return false;
            if (label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c > 0x7f)) return false;
        }
        return true;
    }
}
