namespace ActorGateway.Mail.Delivery;

/// <summary>
/// One TLSA record (RFC 6698): which certificate (usage), which part of it (selector) and how
/// it is given (matching type). SMTP uses only DANE-TA(2) and DANE-EE(3); the rest is
/// unusable for SMTP (RFC 7672 3.1.3).
/// </summary>
public sealed record TlsaAssociation(byte Usage, byte Selector, byte MatchingType, byte[] Data)
{
    public const byte DaneTa = 2, DaneEe = 3;
    public const byte FullCertificate = 0, SubjectPublicKeyInfo = 1;
    public const byte Exact = 0, Sha256 = 1, Sha512 = 2;

    /// <summary>Known usage, selector and matching type, and a digest of the right length.</summary>
    public bool IsUsable =>
        Usage is DaneTa or DaneEe
        && Selector is FullCertificate or SubjectPublicKeyInfo
        && MatchingType switch { Exact => Data.Length > 0, Sha256 => Data.Length == 32, Sha512 => Data.Length == 64, _ => false };

    public override string ToString() => $"{Usage} {Selector} {MatchingType} {Convert.ToHexString(Data)}";
}
