namespace ActorGateway.Smtp.Protocol;

/// <summary>What a listener does with a message that holds a bare CR or LF (like Postfix's smtpd_forbid_bare_newline).</summary>
public enum BareLineEndingPolicy
{
    /// <summary>Each bare CR or LF becomes CRLF before the message is stored, scanned and signed.</summary>
    Normalize,
    /// <summary>The message is refused after its end with 550 5.5.2; the session goes on.</summary>
    Reject,
}
