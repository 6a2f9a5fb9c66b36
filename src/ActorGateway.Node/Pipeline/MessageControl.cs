using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Pipeline;

// What operations can ask of and do to one queued message (actorgw queue show|retry|hold|release|bounce).

public sealed record GetMessageDetails(string QueueId) : IMessageCommand;

/// <summary>A message as its entity knows it: envelope and verdict, what is pending, every attempt with its replies.</summary>
public sealed record MessageDetails(string QueueId, string State, MessageEnvelope? Envelope, int Size, IReadOnlyList<string> Pending,
    IReadOnlyList<AttemptRecorded> Attempts, DateTimeOffset? NextAttempt) : IGatewayMessage;

public enum QueueAction { Retry, Hold, Release, Bounce }

public sealed record ControlMessage(string QueueId, QueueAction Action) : IMessageCommand;

public sealed record ControlResult(string QueueId, bool Done, string Text) : IGatewayMessage;

/// <summary>Event: no delivery attempts until released (the operator's hold).</summary>
public sealed record MessageHeld(DateTimeOffset At) : IGatewayMessage;

public sealed record MessageReleased(DateTimeOffset At) : IGatewayMessage;
