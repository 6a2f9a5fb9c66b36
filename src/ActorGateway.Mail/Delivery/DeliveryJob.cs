namespace ActorGateway.Mail.Delivery;

/// <summary>
/// One message for the recipients at one destination domain. <paramref name="RequireTls"/>: sent
/// with REQUIRETLS (RFC 8689); <paramref name="IgnoreTlsPolicy"/>: "TLS-Required: No", so neither
/// forced-TLS rules nor DANE apply (TLS still used when offered).
/// </summary>
public sealed record DeliveryJob(string QueueId, string Sender, IReadOnlyList<string> Recipients, ReadOnlyMemory<byte> Message, string? EnvelopeId,
    TlsRequirement? Tls = null, bool RequireTls = false, bool IgnoreTlsPolicy = false);
