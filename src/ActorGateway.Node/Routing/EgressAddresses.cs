using Akka.Cluster;
using Akka.DistributedData;

namespace ActorGateway.Node.Routing;

/// <summary>
/// Which address each member sends each pool's mail from, told to the whole cluster as a
/// role of the member ("egress-good:192.0.2.10"), and which of those addresses are on a
/// blacklist now: a replicated set (distributed data) that the blacklist monitor writes and
/// every pool router reads.
/// </summary>
public static class EgressAddresses
{
    const string Prefix = "egress-";

    public static readonly ORSetKey<string> ListedKey = new("listed-egress");

    public static string Role(string pool, string address) => $"{Prefix}{pool}:{address}";

    /// <summary>The (pool, address) pairs a member announced.</summary>
    public static IEnumerable<(string Pool, string Address)> Of(Member member) =>
        member.Roles.Where(r => r.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(r => r[Prefix.Length..].Split(':', 2))
            .Where(p => p.Length == 2)
            .Select(p => (p[0], p[1]));
}
