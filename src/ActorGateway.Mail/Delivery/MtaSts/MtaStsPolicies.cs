using System.Collections.Concurrent;

namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>
/// The MTA-STS policies of recipient domains as this node knows them (RFC 8461 5.1): the TXT
/// record is looked up on each use; the policy is fetched when none is cached or the record's id
/// changed, and kept for its max_age. A failed lookup or fetch keeps an unexpired cached policy
/// in force, so that an attacker who blocks them cannot switch a domain back to plaintext.
/// </summary>
public sealed class MtaStsPolicies(
    Func<string, CancellationToken, Task<MtaStsRecord?>> findRecord,
    Func<string, CancellationToken, Task<(MtaStsPolicy? Policy, string Error)>> fetchPolicy,
    TimeProvider clock,
    Action<string>? report = null)
{
    sealed record Cached(string Id, MtaStsPolicy Policy, DateTimeOffset Expires);

    readonly ConcurrentDictionary<string, Cached> _cache = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Where sessions and failed fetches are counted for TLS reports (null: not counted).</summary>
    public TlsRpt.TlsSessionCounts? Sessions { get; init; }

    /// <summary>The domain's policy in force, or null when it has none (or none could be had).</summary>
    public async Task<MtaStsPolicy?> FindAsync(string domain, CancellationToken ct = default)
    {
        domain = domain.TrimEnd('.').ToLowerInvariant();
        var now = clock.GetUtcNow();
        var cached = _cache.TryGetValue(domain, out var c) && c.Expires > now ? c : null;
        MtaStsRecord? record;
        try { record = await findRecord(domain, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { record = null; }
        if (record is null) return cached?.Policy;
        if (cached is not null && cached.Id == record.Id) return cached.Policy;

        MtaStsPolicy? policy;
        string error;
        try { (policy, error) = await fetchPolicy(domain, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { (policy, error) = (null, e.Message); }
        if (policy is null)
        {
            Sessions?.FetchFailed(domain, invalid: error.Contains("malformed policy"));
            Report($"MTA-STS policy of {domain} (id {record.Id}) could not be fetched: {error}" +
                   (cached is null ? "; no policy applies" : $"; the cached policy (id {cached.Id}) stays in force"));
            return cached?.Policy;
        }
        _cache[domain] = new Cached(record.Id, policy, now + policy.MaxAge);
        if (_cache.Count > 100_000)
            foreach (var (key, old) in _cache) if (old.Expires <= now) _cache.TryRemove(key, out _);
        return policy;
    }

    /// <summary>A line for the node's log: what went wrong with a policy, or what a testing policy would have stopped.</summary>
    public void Report(string line) => report?.Invoke(line);
}
