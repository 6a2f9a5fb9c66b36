using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Monitor;

/// <summary>Run a check now (operations), besides the schedule.</summary>
public sealed record RunBlacklistCheck : IGatewayMessage;

/// <summary>Ask for the current listings and the history.</summary>
public sealed record GetBlacklistStatus : IGatewayMessage;

public sealed record BlacklistStatus(DateTimeOffset? LastSlot, DateTimeOffset? NextSlot, IReadOnlyList<string> Addresses,
    IReadOnlyList<AddressListed> Current, IReadOnlyList<BlacklistHistoryEntry> History) : IGatewayMessage;

/// <summary>One listing from its start to its end (null while it lasts).</summary>
public sealed record BlacklistHistoryEntry(string Address, string Zone, string? ReturnCode, string? Reason, DateTimeOffset ListedAt, DateTimeOffset? DelistedAt);

// ---- events (the monitor's journal) ----

/// <summary>A scheduled slot was checked (each slot once, also across a failover).</summary>
public sealed record SlotChecked(DateTimeOffset Slot, DateTimeOffset At) : IGatewayMessage;

public sealed record AddressListed(string Address, string Zone, string? ReturnCode, string? Reason, DateTimeOffset At) : IGatewayMessage;

public sealed record AddressDelisted(string Address, string Zone, DateTimeOffset At) : IGatewayMessage;
