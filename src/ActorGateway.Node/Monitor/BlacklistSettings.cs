using ActorGateway.Mail.Blacklists;

namespace ActorGateway.Node.Monitor;

/// <summary>gateway.blacklists: the zones, the schedule, who is told, and which addresses are watched besides the pools' own.</summary>
public sealed record BlacklistSettings(IReadOnlyList<DnsblZone> Zones, CheckSchedule Schedule, string? OperationsMailbox,
    string NotificationSender, IReadOnlyList<string> ExtraAddresses);
