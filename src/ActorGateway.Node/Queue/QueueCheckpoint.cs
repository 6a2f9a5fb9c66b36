using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Queue;

/// <summary>
/// The queue sweeper's progress: how far it has read the journal (the three offsets are the
/// same since the tags are read together), and what is pending with its next attempt; for
/// mail not attempted yet, the node incarnation making its first attempt.
/// </summary>
public sealed record QueueCheckpoint(long QueuedOffset, long AttemptedOffset, long DoneOffset, IReadOnlyDictionary<string, DateTimeOffset?> Pending,
    IReadOnlyDictionary<string, DateTimeOffset>? Received = null, IReadOnlyDictionary<string, string>? AcceptedBy = null) : IGatewayMessage;

/// <summary>Event before each checkpoint snapshot (it gives the snapshot its sequence number).</summary>
public sealed record QueueCheckpointTaken(DateTimeOffset At) : IGatewayMessage;

/// <summary>To the sweeper (operations): which messages are queued, with when each is due.</summary>
public sealed record GetPendingMessages : IGatewayMessage;

/// <param name="OldestReceived">When the oldest queued message was received (null: none, or not known yet).</param>
public sealed record PendingMessages(IReadOnlyDictionary<string, DateTimeOffset?> Pending, DateTimeOffset At, DateTimeOffset? OldestReceived = null) : IGatewayMessage;
