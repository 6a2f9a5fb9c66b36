using System.Net;

namespace ActorGateway.Mail.Blacklists;

/// <summary>
/// A DNS blacklist zone and how to read its answers: the return codes that mean "listed"
/// (empty = any 127.0.0.0/8 answer that is not a refusal), the ones that mean "query refused"
/// (a rate limit or a public resolver that the provider blocks; never a listing), and how to
/// ask for a removal (an HTTP POST to a URL, or an e-mail to an address; both optional).
/// </summary>
public sealed record DnsblZone(string Zone, IReadOnlyList<IPAddress> ListedCodes, IReadOnlyList<IPAddress> RefusedCodes,
    string? RemovalUrl = null, string? RemovalMailbox = null)
{
    public DnsblAnswer Classify(IReadOnlyList<IPAddress> answers)
    {
        if (answers.Count == 0) return DnsblAnswer.NotListed;
        if (answers.Any(a => RefusedCodes.Contains(a))) return DnsblAnswer.Refused;
        var listed = ListedCodes.Count == 0
            ? answers.Any(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && a.GetAddressBytes()[0] == 127)
            : answers.Any(a => ListedCodes.Contains(a));
        return listed ? DnsblAnswer.Listed : DnsblAnswer.NotListed;
    }

    /// <summary>The name to look up for an address: its octets (IPv4) or nibbles (IPv6) reversed, then the zone.</summary>
    public string QueryName(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        var labels = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? bytes.Reverse().Select(b => b.ToString())
            : bytes.SelectMany(b => new[] { b >> 4, b & 0xF }).Reverse().Select(n => n.ToString("x"));
        return string.Join('.', labels) + "." + Zone.TrimEnd('.');
    }
}

public enum DnsblAnswer { NotListed, Listed, Refused, Failed }

/// <summary>One look-up of one address in one zone.</summary>
public sealed record DnsblResult(string Zone, string Address, DnsblAnswer Answer, string? ReturnCode, string? Reason);
