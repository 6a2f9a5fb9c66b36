using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.RateLimit;

/// <summary>Every command to a tenant's limiter names the tenant (the sharding key).</summary>
public interface IRateLimitCommand : IGatewayMessage { string Tenant { get; } }

/// <summary>At MAIL FROM: is there room for one more message? Records nothing.</summary>
public sealed record CheckRateLimit(string Tenant, int PerMinute) : IRateLimitCommand;

/// <summary>At the end of DATA, before the message is stored: count it, if there is room.</summary>
public sealed record TakePermit(string Tenant, int PerMinute, string QueueId) : IRateLimitCommand;

/// <summary>The limiter's answer: <paramref name="Allowed"/>, with the count in the last minute.</summary>
public sealed record RateLimitAnswer(string Tenant, bool Allowed, int Used, int PerMinute, TimeSpan RetryAfter) : IGatewayMessage;

/// <summary>Event: one message counted against the tenant's limit (written before it is allowed).</summary>
public sealed record PermitTaken(DateTimeOffset At, string QueueId) : IGatewayMessage;

/// <summary>Snapshot: the grants still inside the window.</summary>
public sealed record RateLimitWindowState(IReadOnlyList<DateTimeOffset> Grants) : IGatewayMessage;
