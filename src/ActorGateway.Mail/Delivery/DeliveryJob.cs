namespace ActorGateway.Mail.Delivery;

/// <summary>One message for the recipients at one destination domain.</summary>
public sealed record DeliveryJob(string QueueId, string Sender, IReadOnlyList<string> Recipients, ReadOnlyMemory<byte> Message, string? EnvelopeId,
    TlsRequirement? Tls = null);
