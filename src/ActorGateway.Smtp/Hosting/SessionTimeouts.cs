namespace ActorGateway.Smtp.Hosting;

/// <summary>The command and data timeouts sessions are held to at one moment (normal or stress).</summary>
public sealed record SessionTimeouts(TimeSpan Command, TimeSpan Data);
