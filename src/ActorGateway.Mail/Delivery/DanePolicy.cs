namespace ActorGateway.Mail.Delivery;

public enum DaneState
{
    /// <summary>DANE off, the DNS answers not authenticated (DNSSEC-insecure), or no TLSA records: opportunistic as before.</summary>
    NotApplicable,
    /// <summary>Usable TLSA records: TLS required and the certificate checked against them only.</summary>
    Authenticate,
    /// <summary>Secure TLSA records, none usable: TLS required, certificate not authenticated (RFC 7672 3.1.3).</summary>
    EncryptOnly,
    /// <summary>The TLSA lookup of a secure MX host failed: the host must not be used (RFC 7672 2.2.1).</summary>
    LookupFailed,
}

/// <summary>
/// What DANE demands of one MX host: its state, the usable TLSA records, the names a
/// DANE-TA chain's leaf may carry (the MX host and the recipient domain, RFC 7672 3.2.2).
/// </summary>
public sealed record DanePolicy(DaneState State, IReadOnlyList<TlsaAssociation> Records, IReadOnlyList<string> Names, string Detail)
{
    public static DanePolicy NotApplicable(string detail) => new(DaneState.NotApplicable, [], [], detail);

    /// <summary>Whether DANE makes TLS mandatory for the host (no fallback to plaintext).</summary>
    public bool RequiresTls => State is DaneState.Authenticate or DaneState.EncryptOnly;
}
