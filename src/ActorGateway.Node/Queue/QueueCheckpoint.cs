using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Queue;

/// <summary>The queue sweeper's progress: how far it has read each tag, and what is pending with its next attempt.</summary>
public sealed record QueueCheckpoint(long QueuedOffset, long AttemptedOffset, long DoneOffset, IReadOnlyDictionary<string, DateTimeOffset?> Pending) : IGatewayMessage;

/// <summary>Event before each checkpoint snapshot (it gives the snapshot its sequence number).</summary>
public sealed record QueueCheckpointTaken(DateTimeOffset At) : IGatewayMessage;
