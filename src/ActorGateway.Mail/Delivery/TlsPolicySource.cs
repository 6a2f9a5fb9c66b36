namespace ActorGateway.Mail.Delivery;

/// <summary>Which policy decided how a delivery's TLS was secured.</summary>
public enum TlsPolicySource { None, Static, MtaSts, Dane }
