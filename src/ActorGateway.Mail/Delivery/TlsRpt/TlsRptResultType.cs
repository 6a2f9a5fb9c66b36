namespace ActorGateway.Mail.Delivery.TlsRpt;

/// <summary>The result types of RFC 8460 4.3 that an MTA-STS sender reports, and which one a failed session had.</summary>
public static class TlsRptResultType
{
    public const string StartTlsNotSupported = "starttls-not-supported";
    public const string CertificateHostMismatch = "certificate-host-mismatch";
    public const string CertificateExpired = "certificate-expired";
    public const string CertificateNotTrusted = "certificate-not-trusted";
    public const string ValidationFailure = "validation-failure";
    public const string StsPolicyFetchError = "sts-policy-fetch-error";
    public const string StsPolicyInvalid = "sts-policy-invalid";

    /// <summary>
    /// The type of a session that did not meet its policy, from what the delivery said: an MX host
    /// the policy does not name, a server that took the mail without TLS (testing mode), no STARTTLS,
    /// or what was wrong with the certificate.
    /// </summary>
    public static string Of(bool mxAllowed, bool deliveredWithoutTls, string diagnostic)
    {
        if (!mxAllowed) return ValidationFailure;
        if (deliveredWithoutTls || diagnostic.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase)) return StartTlsNotSupported;
        if (diagnostic.Contains("did not match", StringComparison.OrdinalIgnoreCase) || diagnostic.Contains("mismatch", StringComparison.OrdinalIgnoreCase))
            return CertificateHostMismatch;
        if (diagnostic.Contains("expired", StringComparison.OrdinalIgnoreCase)) return CertificateExpired;
        return CertificateNotTrusted;
    }
}
