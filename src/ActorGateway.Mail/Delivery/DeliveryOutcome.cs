namespace ActorGateway.Mail.Delivery;

public enum RecipientStatus { Delivered, Deferred, Failed }

/// <summary>What happened to one recipient in one attempt, with the reply that says so.</summary>
public sealed record RecipientOutcome(string Recipient, RecipientStatus Status, string StatusCode, string Diagnostic, string? RemoteMta);

/// <summary>One delivery attempt: per-recipient outcomes and how the connection was secured.</summary>
public sealed record DeliveryOutcome(IReadOnlyList<RecipientOutcome> Recipients, string? RemoteMta, string? Tls, string? SourceAddress)
{
    public static DeliveryOutcome All(IEnumerable<string> recipients, RecipientStatus status, string code, string diagnostic, string? remote = null) =>
        new(recipients.Select(r => new RecipientOutcome(r, status, code, diagnostic, remote)).ToArray(), remote, null, null);
}
