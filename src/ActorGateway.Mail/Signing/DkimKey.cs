namespace ActorGateway.Mail.Signing;

public enum DkimAlgorithm { RsaSha256, Ed25519Sha256 }

/// <summary>A sender domain's DKIM key: selector, algorithm, and the PEM file holding the private key.</summary>
public sealed record DkimKey(string Domain, string Selector, DkimAlgorithm Algorithm, string KeyPath);
