namespace ActorGateway.Node.Serialization;

/// <summary>Marks the messages and events that cross nodes or go to the journal: serialized as JSON.</summary>
public interface IGatewayMessage;
