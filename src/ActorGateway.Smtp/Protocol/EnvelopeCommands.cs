namespace ActorGateway.Smtp.Protocol;

/// <summary>BODY parameter of MAIL (RFC 6152).</summary>
public enum BodyType { SevenBit, EightBitMime }

/// <summary>
/// A parsed MAIL FROM command with its ESMTP parameters. <paramref name="RequireTls"/>: the
/// REQUIRETLS parameter (RFC 8689), the message may only be relayed over verified TLS.
/// </summary>
public sealed record MailFromCommand(
    SmtpPath Sender, long? DeclaredSize, BodyType Body, bool SmtpUtf8, DsnReturn Return, string? EnvelopeId, bool RequireTls = false)
{
    /// <summary>Parses the argument of MAIL ("FROM:&lt;a@b&gt; SIZE=10 ..."); the error is the reply to send.</summary>
    public static bool TryParse(string argument, out MailFromCommand command, out SmtpReply error)
    {
        command = null!;
        if (!argument.StartsWith("FROM:", StringComparison.OrdinalIgnoreCase)) { error = SmtpReply.Syntax("MAIL FROM:<address>"); return false; }
        if (!SmtpPath.TryParse(argument[5..], out var path, out var rest, out var why)) { error = new SmtpReply(501, "5.1.7", $"Bad sender address syntax: {why}"); return false; }
        if (path.IsPostmaster) { error = new SmtpReply(501, "5.1.7", "Bad sender address syntax: Address must have a domain"); return false; }

        long? size = null; var body = BodyType.SevenBit; var utf8 = false; var ret = DsnReturn.Unspecified; string? envid = null; var requireTls = false;
        foreach (var (key, value) in EsmtpParameters.Split(rest))
        {
            switch (key)
            {
                case "SIZE" when long.TryParse(value, System.Globalization.NumberStyles.None, null, out var s) && size is null: size = s; break;
                case "BODY" when value?.ToUpperInvariant() == "7BIT": body = BodyType.SevenBit; break;
                case "BODY" when value?.ToUpperInvariant() == "8BITMIME": body = BodyType.EightBitMime; break;
                case "BODY": error = new SmtpReply(555, "5.5.4", $"Unsupported BODY type: {value}"); return false;
                case "SMTPUTF8" when value is null: utf8 = true; break;
                case "RET" when value is not null && ret == DsnReturn.Unspecified && DsnParameters.TryParseRet(value, out ret): break;
                case "ENVID" when value is not null && envid is null && value.Length <= 100 && DsnParameters.TryDecodeXtext(value, out var e): envid = e; break;
                case "AUTH" when value is not null: break; // RFC 4954 5: accepted, not trusted
                case "REQUIRETLS" when value is null && !requireTls: requireTls = true; break;
                case "SIZE" or "SMTPUTF8" or "RET" or "ENVID" or "AUTH" or "REQUIRETLS": error = SmtpReply.BadParameter($"Bad {key} parameter"); return false;
                default: error = SmtpReply.UnsupportedParameter(key); return false;
            }
        }
        if (path.IsInternational && !utf8) { error = new SmtpReply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"); return false; }
        command = new MailFromCommand(path, size, body, utf8, ret, envid, requireTls);
        error = SmtpReply.SenderOk;
        return true;
    }
}

/// <summary>A parsed RCPT TO command with its DSN parameters.</summary>
public sealed record RcptToCommand(SmtpPath Recipient, DsnNotify Notify, string? OriginalRecipient)
{
    public static bool TryParse(string argument, bool smtpUtf8, out RcptToCommand command, out SmtpReply error)
    {
        command = null!;
        if (!argument.StartsWith("TO:", StringComparison.OrdinalIgnoreCase)) { error = SmtpReply.Syntax("RCPT TO:<address>"); return false; }
        if (!SmtpPath.TryParse(argument[3..], out var path, out var rest, out var why) || path.IsNull)
        {
            error = new SmtpReply(501, "5.1.3", $"Bad recipient address syntax: {(path.IsNull && why.Length == 0 ? "Empty address" : why)}");
            return false;
        }
        var notify = DsnNotify.Unspecified; string? orcpt = null;
        foreach (var (key, value) in EsmtpParameters.Split(rest))
        {
            switch (key)
            {
                case "NOTIFY" when value is not null && notify == DsnNotify.Unspecified && DsnParameters.TryParseNotify(value, out notify): break;
                case "ORCPT" when value is not null && orcpt is null && value.Length <= 500 && DsnParameters.TryParseOriginalRecipient(value, out var o): orcpt = o; break;
                case "NOTIFY" or "ORCPT": error = SmtpReply.BadParameter($"Bad {key} parameter"); return false;
                default: error = SmtpReply.UnsupportedParameter(key); return false;
            }
        }
        if (path.IsInternational && !smtpUtf8) { error = new SmtpReply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"); return false; }
        command = new RcptToCommand(path, notify, orcpt);
        error = SmtpReply.RecipientOk;
        return true;
    }
}

static class EsmtpParameters
{
    /// <summary>Splits "KEY=VALUE KEY2" into upper-cased keys and raw values (null when absent).</summary>
    public static IEnumerable<(string Key, string? Value)> Split(string text)
    {
        foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = token.IndexOf('=');
            yield return eq < 0 ? (token.ToUpperInvariant(), null) : (token[..eq].ToUpperInvariant(), token[(eq + 1)..]);
        }
    }
}
