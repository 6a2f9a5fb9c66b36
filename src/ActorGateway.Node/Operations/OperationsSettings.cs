namespace ActorGateway.Node.Operations;

/// <summary>gateway.operations: the management HTTP endpoint (0 = none) and the token that guards changes.</summary>
public sealed record OperationsSettings(string Address, int Port, string? Token);
