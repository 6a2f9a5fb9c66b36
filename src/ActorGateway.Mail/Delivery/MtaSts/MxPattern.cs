namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>
/// An "mx" pattern of an MTA-STS policy (RFC 8461 4.1): a host name, or "*." and a domain, which
/// matches exactly one further label on the left ("*.example.com" matches "mx.example.com", not
/// "a.b.example.com" nor "example.com"). Case and a trailing dot do not matter.
/// </summary>
public static class MxPattern
{
    public static bool Matches(string pattern, string host)
    {
        pattern = pattern.TrimEnd('.');
        host = host.TrimEnd('.');
        if (!pattern.StartsWith("*.", StringComparison.Ordinal)) return host.Equals(pattern, StringComparison.OrdinalIgnoreCase);
        var dot = host.IndexOf('.');
        return dot > 0 && host[(dot + 1)..].Equals(pattern[2..], StringComparison.OrdinalIgnoreCase);
    }

    public static bool MatchesAny(IEnumerable<string> patterns, string host) => patterns.Any(p => Matches(p, host));
}
