using ActorGateway.Smtp.Protocol;

namespace ActorGateway.Smtp.Session;

/// <summary>One accepted recipient with its DSN parameters (RFC 3461).</summary>
public sealed record SmtpRecipient(string Address, DsnNotify Notify, string? OriginalRecipient);

/// <summary>
/// The envelope of one mail transaction as it is handed to the message store: sender,
/// accepted recipients, and everything an NDR needs later.
/// </summary>
public sealed record SmtpTransaction(
    string Sender,
    IReadOnlyList<SmtpRecipient> Recipients,
    BodyType Body,
    bool SmtpUtf8,
    DsnReturn Return,
    string? EnvelopeId,
    DateTimeOffset ReceivedAt,
    bool RequireTls = false);
