namespace ActorGateway.Node.Operations;

/// <summary>
/// gateway.operations: the management HTTP endpoint (0 = none), the token that guards changes
/// (and may read) and the token that may only read.
/// </summary>
public sealed record OperationsSettings(string Address, int Port, string? Token, string? ReadToken);
