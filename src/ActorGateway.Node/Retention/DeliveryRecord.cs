using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Retention;

/// <summary>One recipient's final answer: what Postfix's log line says about it when the queue file is deleted.
/// <paramref name="Policy"/>: which policy decided what TLS the delivery needed; <paramref name="CertificateVerified"/>: whether the receiver's certificate verified.</summary>
public sealed record RecipientRecord(string Recipient, RecipientStatus Status, string StatusCode, string Diagnostic, string? Relay, string? Tls,
    string? Egress, int Attempt, DateTimeOffset At, TlsPolicySource Policy = TlsPolicySource.None, bool CertificateVerified = false);

/// <summary>
/// What stays of a message once it is done: envelope, verdict and each recipient's final
/// answer, without the body. The message's journal (with its body) is deleted; this record is
/// kept for the configured retention, for `actorgw queue show` and `actorgw log search`.
/// </summary>
public sealed record DeliveryRecord(string QueueId, string Tenant, string Sender, string? MessageId, string ClientAddress, string Pool,
    double SpamScore, int Size, bool IsBounce, DateTimeOffset ReceivedAt, DateTimeOffset CompletedAt, int Attempts,
    IReadOnlyList<RecipientRecord> Recipients, string? ClientHelo = null) : IGatewayMessage
{
    /// <summary>
    /// The record of a message from its envelope, body (for its Message-ID) and attempts: per
    /// recipient the last answer that was not a deferral (an operator's bounce or the expiry is
    /// such an answer too), else its last answer.
    /// </summary>
    public static DeliveryRecord Of(string queueId, MessageEnvelope envelope, byte[] body, IEnumerable<AttemptRecorded> attempts, DateTimeOffset completedAt)
    {
        var final = new Dictionary<string, RecipientRecord>(StringComparer.OrdinalIgnoreCase);
        var count = 0;
        foreach (var attempt in attempts)
        {
            count = Math.Max(count, attempt.Attempt);
            foreach (var r in attempt.Results)
                if (r.Status != RecipientStatus.Deferred || !final.TryGetValue(r.Recipient, out var known) || known.Status == RecipientStatus.Deferred)
                    final[r.Recipient] = new RecipientRecord(r.Recipient, r.Status, r.StatusCode, r.Diagnostic, r.RemoteMta, r.Tls, r.Egress, attempt.Attempt, attempt.At,
                        r.Policy, r.CertificateVerified);
        }
        var recipients = envelope.Recipients.Select(r => final.GetValueOrDefault(r.Address)
            ?? new RecipientRecord(r.Address, RecipientStatus.Deferred, "", "no answer recorded", null, null, null, 0, completedAt)).ToArray();
        return new DeliveryRecord(queueId, envelope.Tenant, envelope.Sender, MessageIdOf(body), envelope.ClientAddress, envelope.Pool ?? Pools.Good,
            envelope.SpamScore, body.Length, envelope.IsBounce, envelope.ReceivedAt, completedAt, count, recipients, envelope.ClientHelo);
    }

    /// <summary>
    /// The Message-ID field's value without its angle brackets, or null: the first such field of
    /// the header section, decoded and unfolded as MimeKit gives a field's value, found in the
    /// bytes without a MIME parser (it is asked for once per message and per event).
    /// </summary>
    public static string? MessageIdOf(byte[] body)
    {
        if (!ActorGateway.Smtp.Protocol.HeaderFields.TryFindFirst(body, "Message-ID", out var start, out var length)) return null;
        var value = MimeKit.Utils.Rfc2047.DecodeText(MimeKit.ParserOptions.Default, body, start, length).Replace("\r", "").Replace("\n", "").Trim();
        return MimeKit.Utils.MimeUtils.ParseMessageId(value) ?? value;
    }
}
