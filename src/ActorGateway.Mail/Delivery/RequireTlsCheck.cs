namespace ActorGateway.Mail.Delivery;

/// <summary>Why a connection may not carry a REQUIRETLS message: the enhanced status code and the reason.</summary>
public sealed record RequireTlsRefusal(string StatusCode, string Reason);

/// <summary>
/// What REQUIRETLS (RFC 8689 4.2.1) demands of the connection a message leaves on: TLS, the
/// server's certificate verified through a policy the receiving domain published (DANE; MTA-STS
/// counts the same way once it sets the source), and a server that offers REQUIRETLS itself,
/// so that it carries the requirement on. Anything else bounces the message (RFC 8689 5).
/// </summary>
public static class RequireTlsCheck
{
    /// <returns>null when the message may be sent (with REQUIRETLS on its MAIL FROM).</returns>
    public static RequireTlsRefusal? Refusal(bool encrypted, TlsPolicySource source, bool verified, bool serverOffersRequireTls)
    {
        if (!encrypted) return new("5.7.10", "REQUIRETLS: the receiving server offered no TLS");
        if (source is not (TlsPolicySource.Dane or TlsPolicySource.MtaSts) || !verified)
            return new("5.7.10", $"REQUIRETLS: the receiving server's certificate was not verified through DANE or MTA-STS ({(verified ? "verified" : "unverified")}, policy {source})");
        if (!serverOffersRequireTls) return new("5.7.30", "REQUIRETLS support required: the receiving server does not offer REQUIRETLS");
        return null;
    }
}
