using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Pipeline;

/// <summary>Every command to a message entity names its queue id (the sharding key).</summary>
public interface IMessageCommand : IGatewayMessage { string QueueId { get; } }

/// <summary>One recipient of a queued message with its DSN parameters.</summary>
public sealed record QueuedRecipient(string Address, int Notify, string? OriginalRecipient);

/// <summary>
/// The envelope of a message handed to the queue, with the scanners' verdict: the pool it
/// must leave through ("good", or "bad" for suspected spam) and the spam score behind it.
/// <paramref name="RequireTls"/>: sent with REQUIRETLS (RFC 8689), relayed only over verified TLS
/// to a next hop that supports it; <paramref name="TlsOptional"/>: "TLS-Required: No" without
/// REQUIRETLS, so no TLS policy applies to it.
/// </summary>
public sealed record MessageEnvelope(
    string Tenant, string Sender, IReadOnlyList<QueuedRecipient> Recipients, string? EnvelopeId,
    bool ReturnHeadersOnly, bool SmtpUtf8, DateTimeOffset ReceivedAt, string ClientAddress, bool IsBounce,
    string Pool = Pools.Good, double SpamScore = 0, IReadOnlyList<string>? SpamSymbols = null, string? ClientHelo = null,
    bool RequireTls = false, bool TlsOptional = false)
{
    /// <summary>The envelope of an NDR or notice: from the null sender, to the original sender, no further NDRs.</summary>
    public static MessageEnvelope BounceTo(string tenant, string sender) =>
        new(tenant, "", [new QueuedRecipient(sender, (int)ActorGateway.Smtp.Protocol.DsnNotify.Never, null)], null,
            false, false, DateTimeOffset.UtcNow, "local", IsBounce: true);
}

public static class Pools
{
    public const string Good = "good";
    /// <summary>Suspected spam leaves only from here, never from a good address.</summary>
    public const string Bad = "bad";

    /// <summary>The cluster role of the nodes that send a pool's mail (gateway addresses with its reputation).</summary>
    public static string RoleOf(string pool) => pool + "-gateway";
}

// ---- commands ----
/// <summary>To the node's MessageIntake: store this message (the 250 waits for MessageStored).</summary>
public sealed record AcceptMessage(string QueueId, MessageEnvelope Envelope, byte[] Body) : IMessageCommand;
/// <summary>
/// The message is pending: start or continue its delivery. From the intake right after
/// acceptance (<paramref name="JustAccepted"/>), or from the queue sweeper.
/// </summary>
public sealed record WakeMessage(string QueueId, bool JustAccepted = false) : IMessageCommand;

/// <summary>
/// From the intake: the first attempt's answers, which it could not write to the journal
/// itself (the delivery happened; it must be recorded so that it is not repeated).
/// </summary>
public sealed record RecordFirstAttempt(string QueueId, AttemptRecorded Recorded) : IMessageCommand;

// ---- replies ----
public sealed record MessageStored(string QueueId) : IGatewayMessage;
public sealed record MessageNotStored(string QueueId, string Reason) : IGatewayMessage;
/// <summary>To the queue sweeper: this id has left the queue, stop waking it.</summary>
public sealed record MessageIsDone(string QueueId) : IGatewayMessage;

// ---- events (the journal of one message) ----
/// <param name="AcceptedBy">The node incarnation that accepted it and makes its first attempt
/// (<see cref="MessageIntake.NodeOf"/>): the queue sweeper leaves the message to that node while it lives.</param>
public sealed record MessageAccepted(string QueueId, MessageEnvelope Envelope, byte[] Body, string? AcceptedBy = null) : IGatewayMessage;

/// <summary>
/// One recipient's answer in an attempt, with how its connection was secured (TLS protocol,
/// cipher, verified), which policy decided what TLS it needed, whether the certificate verified,
/// and the gateway address it was sent from (which node of the pool).
/// </summary>
/// <param name="Paused">Not attempted because the destination was paused after repeated failures: for the retry interval this counts as tried.</param>
/// <param name="PausedUntil">When that pause ends (null in journals from before it was kept).</param>
public sealed record RecipientResult(string Recipient, RecipientStatus Status, string StatusCode, string Diagnostic, string? RemoteMta, string? Tls = null,
    string? Egress = null, bool NotAttempted = false, TlsPolicySource Policy = TlsPolicySource.None, bool CertificateVerified = false, bool Paused = false,
    DateTimeOffset? PausedUntil = null);

/// <summary>
/// One delivery attempt's answers. <paramref name="Completes"/>: nothing is left to do after it
/// (no recipient pending, no NDR to queue); it is written together with MessageCompleted.
/// <paramref name="Pool"/>: the pool it went through (null in journals from before it was kept),
/// so that the queue sweeper knows whose destinations the answers speak of.
/// </summary>
public sealed record AttemptRecorded(int Attempt, DateTimeOffset At, IReadOnlyList<RecipientResult> Results,
    string? RemoteMta, string? Tls, DateTimeOffset? NextAttemptAt, bool Completes = false, string? Pool = null) : IGatewayMessage;

/// <summary>The NDR for the failed recipients of an attempt is in the queue.</summary>
public sealed record BounceQueued(int Attempt, string BounceQueueId) : IGatewayMessage;

/// <summary>
/// The message is done: its last event, tagged done. It carries the delivery record that stays
/// after the queue sweeper has deleted the message's journal (null in journals from before records).
/// </summary>
public sealed record MessageCompleted(DateTimeOffset At, ActorGateway.Node.Retention.DeliveryRecord? Record = null) : IGatewayMessage;

/// <summary>
/// Mail never attempted waits for a node of its pool, or for a free connection to its
/// destination (in the hands of its entity now). Read by the queue sweeper, which then
/// wakes it every sweep (as any waiting mail) instead of leaving it to its accepting node.
/// </summary>
public sealed record PoolWaitStarted(DateTimeOffset At) : IGatewayMessage;

public static class QueueTags
{
    /// <summary>Tag of every MessageAccepted: the queue's index of what exists.</summary>
    public const string Queued = "queued";
    /// <summary>Tag of every AttemptRecorded (and PoolWaitStarted): when each message is due again.</summary>
    public const string Attempted = "attempted";
    /// <summary>Tag of every MessageCompleted: what has left the queue, and is to be deleted from the journal.</summary>
    public const string Done = "done";
}
