using System.Net;
using DnsClient;

namespace ActorGateway.Mail.Dns;

/// <summary>
/// The gateway's one DNS client: the configured servers (host:port), or the system's.
/// Answers are cached by their TTL, failures briefly, so a burst of mail from one domain
/// costs one lookup.
/// </summary>
public static class DnsResolver
{
    /// <param name="requestDnssec">Sets the DO bit, so that a validating resolver says (AD bit) which answers it validated.</param>
    public static ILookupClient Create(IReadOnlyList<string> servers, TimeSpan? timeout = null, bool requestDnssec = false)
    {
        var endpoints = servers.Select(ParseEndpoint).ToArray();
        var options = endpoints.Length > 0 ? new LookupClientOptions(endpoints) : new LookupClientOptions();
        options.UseCache = true;
        options.CacheFailedResults = true;
        options.FailedResultsCacheDuration = TimeSpan.FromSeconds(5);
        options.Timeout = timeout ?? TimeSpan.FromSeconds(3);
        options.Retries = 1;
        options.ThrowDnsErrors = false;
        options.UseTcpFallback = true;
        options.ContinueOnDnsError = false;
        options.ContinueOnEmptyResponse = false;
        options.RequestDnsSecRecords = requestDnssec;
        return new LookupClient(options);
    }

    public static IPEndPoint ParseEndpoint(string hostPort)
    {
        if (IPEndPoint.TryParse(hostPort, out var ep)) return ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep;
        throw new FormatException($"DNS server '{hostPort}' is not an address[:port]");
    }
}
