using ActorGateway.Node.Serialization;

namespace ActorGateway.Node.Routing;

/// <summary>To a pool router: which members it routes to now, and which it leaves out and why.</summary>
public sealed record GetPoolMembers : IGatewayMessage;

/// <summary>
/// One member with the pool's role as the router sees it: its egress address for the pool,
/// whether it is reachable and whether that address is on a blacklist (a listed good gateway
/// is left out of the good pool). <see cref="Routed"/>: deliveries go to it now.
/// </summary>
public sealed record PoolMember(string Node, string? Egress, bool Reachable, bool Blacklisted, bool Routed) : IGatewayMessage;

/// <summary>A pool as one node's router sees it.</summary>
public sealed record PoolMembers(string Pool, string Role, IReadOnlyList<PoolMember> Members) : IGatewayMessage;
