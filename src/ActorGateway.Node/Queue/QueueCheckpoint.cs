using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Queue;

/// <summary>
/// The queue sweeper's progress: how far it has read the journal (the three offsets are the
/// same since the tags are read together). The pending set is in its own table now
/// (PendingQueueStore); checkpoints written before that carry it here, with when each message
/// is next due and, for mail not attempted yet, the node incarnation making its first attempt.
/// </summary>
public sealed record QueueCheckpoint(long QueuedOffset, long AttemptedOffset, long DoneOffset, IReadOnlyDictionary<string, DateTimeOffset?> Pending,
    IReadOnlyDictionary<string, DateTimeOffset>? Received = null, IReadOnlyDictionary<string, string>? AcceptedBy = null) : IGatewayMessage;

/// <summary>Event before each checkpoint snapshot (it gives the snapshot its sequence number).</summary>
public sealed record QueueCheckpointTaken(DateTimeOffset At) : IGatewayMessage;

/// <summary>
/// To the sweeper (operations): how many messages are queued, and the first <paramref name="Limit"/> of
/// them by queue id with when each is due (null: all). A large queue is never sent whole to a
/// scrape or a listing: the answer may cross the cluster. <paramref name="QueueId"/>: that message only.
/// </summary>
public sealed record GetPendingMessages(int? Limit = null, string? QueueId = null) : IGatewayMessage;

/// <param name="Pending">The messages asked for (the first by queue id), with when each is due.</param>
/// <param name="OldestReceived">When the oldest queued message was received (null: none, or not known yet).</param>
/// <param name="Total">How many messages are queued in all.</param>
/// <param name="EarliestDue">The earliest time any queued message is due (null: none has one).</param>
/// <param name="Paused">The destinations whose mail the sweeper defers without an attempt while they are paused.</param>
public sealed record PendingMessages(IReadOnlyDictionary<string, DateTimeOffset?> Pending, DateTimeOffset At, DateTimeOffset? OldestReceived, int Total,
    DateTimeOffset? EarliestDue, IReadOnlyList<PausedDestination>? Paused = null) : IGatewayMessage;
