using MimeKit;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// The TLS-Required header field (RFC 8689 4.1): "No" asks relays to ignore TLS policies
/// (forced-TLS rules, DANE, MTA-STS) for this message, delivering over TLS only when offered.
/// The REQUIRETLS parameter, when given too, wins (the caller checks that).
/// </summary>
public static class TlsRequiredHeader
{
    public const string Name = "TLS-Required";

    public static bool SaysNo(HeaderList? headers) =>
        headers is not null && headers.Where(h => h.Field.Equals(Name, StringComparison.OrdinalIgnoreCase))
            .Any(h => h.Value.Trim().Equals("No", StringComparison.OrdinalIgnoreCase));
}
