using ActorGateway.Node.Pipeline;

namespace ActorGateway.Node.Queue;

/// <summary>
/// The queue at a glance (the status page): how many messages, how old the oldest is, and
/// counts by state, tenant, pool and destination (the domain of a recipient still pending; a
/// message pending for two domains counts for each). The counts cover the
/// <see cref="Examined"/> messages whose details were read, at most all <see cref="Total"/>.
/// <see cref="PausedDestinations"/>: the destinations whose mail the queue defers without an attempt until then.
/// </summary>
public sealed record QueueSummary(int Total, int Examined, DateTimeOffset At, DateTimeOffset? OldestReceived, double? OldestAgeSeconds,
    IReadOnlyDictionary<string, int> ByState, IReadOnlyDictionary<string, int> ByTenant, IReadOnlyDictionary<string, int> ByPool,
    IReadOnlyDictionary<string, int> ByDestination, IReadOnlyList<PausedDestination> PausedDestinations)
{
    /// <summary>Counts what the entities answered; a message that is gone meanwhile (no envelope) is left out.</summary>
    public static QueueSummary Of(PendingMessages pending, IEnumerable<MessageDetails> details)
    {
        var known = details.Where(d => d.Envelope is not null).ToArray();
        // The sweeper knows the oldest of the whole queue; before it does, the oldest examined one stands in.
        var oldest = pending.OldestReceived ?? known.Select(d => (DateTimeOffset?)d.Envelope!.ReceivedAt).Min();
        return new QueueSummary(pending.Total, known.Length, pending.At, oldest,
            oldest is { } o ? Math.Max(0, (pending.At - o).TotalSeconds) : null,
            Count(known.Select(d => d.State)),
            Count(known.Select(d => d.Envelope!.Tenant)),
            Count(known.Select(d => d.Envelope!.Pool)),
            Count(known.SelectMany(d => d.Pending.Select(Domain).Distinct(StringComparer.OrdinalIgnoreCase))),
            pending.Paused ?? []);
    }

    static string Domain(string recipient) =>
        recipient.LastIndexOf('@') is var at and >= 0 ? recipient[(at + 1)..].ToLowerInvariant() : recipient.ToLowerInvariant();

    static IReadOnlyDictionary<string, int> Count(IEnumerable<string> keys) =>
        keys.GroupBy(k => k).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count());
}
