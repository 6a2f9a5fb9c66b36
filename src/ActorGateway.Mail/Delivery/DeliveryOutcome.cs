namespace ActorGateway.Mail.Delivery;

public enum RecipientStatus { Delivered, Deferred, Failed }

/// <summary>
/// What happened to one recipient in one attempt, with the reply that says so.
/// <paramref name="NotAttempted"/>: deferred by the gateway itself before anything was sent (the
/// destination was busy or paused); such a deferral says nothing about the receiver, so it does
/// not lengthen the message's retry interval.
/// </summary>
public sealed record RecipientOutcome(string Recipient, RecipientStatus Status, string StatusCode, string Diagnostic, string? RemoteMta,
    bool NotAttempted = false);

/// <summary>
/// One delivery attempt: per-recipient outcomes and how the connection was secured: TLS protocol
/// and cipher, which policy decided what it had to meet (<paramref name="Policy"/>), and whether
/// the server's certificate verified for its name.
/// </summary>
public sealed record DeliveryOutcome(IReadOnlyList<RecipientOutcome> Recipients, string? RemoteMta, string? Tls, string? SourceAddress,
    TlsPolicySource Policy = TlsPolicySource.None, bool CertificateVerified = false)
{
    public static DeliveryOutcome All(IEnumerable<string> recipients, RecipientStatus status, string code, string diagnostic, string? remote = null) =>
        new(recipients.Select(r => new RecipientOutcome(r, status, code, diagnostic, remote)).ToArray(), remote, null, null);

    /// <summary>Every recipient deferred without a try: "x-gateway; not attempted: <paramref name="why"/>".</summary>
    public static DeliveryOutcome NotTried(IEnumerable<string> recipients, string code, string why) =>
        new(recipients.Select(r => new RecipientOutcome(r, RecipientStatus.Deferred, code, $"x-gateway; not attempted: {why}", null, true)).ToArray(),
            null, null, null);
}
