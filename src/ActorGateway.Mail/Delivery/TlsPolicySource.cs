namespace ActorGateway.Mail.Delivery;

/// <summary>
/// What decided how a delivery's connection had to be secured: nothing (opportunistic TLS), a
/// static rule of gateway.tls-policy, the recipient domain's MTA-STS policy, or its DANE records.
/// </summary>
public enum TlsPolicySource { None = 0, Static = 1, MtaSts = 2, Dane = 3 }
