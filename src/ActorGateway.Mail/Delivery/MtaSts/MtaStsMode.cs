namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>RFC 8461 3.2: enforce = deliver only as the policy says; testing = deliver anyway and report; none = no policy.</summary>
public enum MtaStsMode { Enforce, Testing, None }
