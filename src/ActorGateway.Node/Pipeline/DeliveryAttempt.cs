using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Delivery.MtaSts;
using ActorGateway.Node.Delivery;
using ActorGateway.Node.Operations;
using Akka.Actor;
using Akka.Event;

namespace ActorGateway.Node.Pipeline;

/// <summary>
/// One delivery attempt of a message through its pool, and what it records. The same code
/// serves the first attempt (made by the intake, which still holds the message in memory)
/// and every later one (made by the message's entity after it recovered from the journal).
/// </summary>
public static class DeliveryAttempt
{
    /// <summary>The receiving servers' answers (or the attempt's own failure), per domain.</summary>
    public sealed record Finished(int Attempt, IReadOnlyList<DeliverResult> Results);

    /// <summary>No node of the message's pool is up: nothing was tried, and it does not count as an attempt.</summary>
    public sealed record PoolWait(string Pool);

    /// <summary>Sends the message to its pending recipients, one request per recipient domain; completes with Finished or PoolWait.</summary>
    public static Task<object> Run(string queueId, MessageEnvelope envelope, byte[] body, IEnumerable<string> recipients, int attempt, MessageServices services)
    {
        // A message's pool is fixed at acceptance: its router picks a node of that pool, never one of the other.
        var poolName = envelope.Pool ?? Pools.Good;
        var pool = services.Pools[poolName];
        var asks = recipients.GroupBy(Domain, StringComparer.OrdinalIgnoreCase).Select(async group =>
        {
            var addresses = group.ToArray();
            // "TLS-Required: No" (RFC 8689 4.1): neither the static rules nor the domain's MTA-STS policy apply.
            var staticRule = envelope.TlsOptional ? null : services.TlsPolicy.Find(Domain(envelope.Sender), group.Key);
            var mtaSts = services.MtaSts is { } policies && !envelope.TlsOptional ? await policies.FindAsync(group.Key) : null;
            var tls = MtaStsTlsRequirement.Combine(group.Key.ToLowerInvariant(), staticRule, mtaSts);
            var job = new DeliveryJob(queueId, envelope.Sender, addresses, body, envelope.EnvelopeId, tls, envelope.RequireTls, envelope.TlsOptional);
            // Waits as long as the destination may let it wait and a started delivery may take: never less, so that
            // a delivery that goes ahead is never given up on here (and sent again by the retry).
            var request = new DeliverRequest(group.Key, job, DateTimeOffset.UtcNow + services.Timeouts.QueueWait);
            var answer = await pool.Ask<object>(request, services.Timeouts.Attempt).ContinueWith(t => t switch
            {
                { IsCompletedSuccessfully: true, Result: DeliverResult r } => (r, false),
                { IsCompletedSuccessfully: true, Result: PoolUnavailable } => (new DeliverResult(group.Key, DeliveryOutcome.All(addresses,
                    RecipientStatus.Deferred, "4.4.1", $"x-gateway; no gateway of the {poolName} pool is available")), true),
                _ => (new DeliverResult(group.Key, DeliveryOutcome.All(addresses, RecipientStatus.Deferred, "4.4.1", "x-gateway; delivery attempt timed out")), false),
            });
            if (mtaSts is not null) services.MtaSts!.Sessions?.Count(group.Key.ToLowerInvariant(), mtaSts, answer.Item1.Outcome);
            if (mtaSts is not null && MtaStsTlsRequirement.TestingViolation(mtaSts, answer.Item1.Outcome) is { } violation)
                services.MtaSts!.Report($"{queueId}: MTA-STS policy of {group.Key} (testing) not met, delivered anyway: {violation}");
            return answer;
        }).ToArray();
        return Task.WhenAll(asks).ContinueWith(t => t.Result.All(r => r.Item2)
            ? (object)new PoolWait(poolName)
            : new Finished(attempt, t.Result.Select(r => r.Item1).ToArray()), TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <summary>Once the attempt is in the journal: one log line and one metric per recipient.</summary>
    public static void Report(ILoggingAdapter log, string queueId, MessageEnvelope envelope, AttemptRecorded recorded)
    {
        foreach (var r in recorded.Results)
        {
            var status = r.Status.ToString().ToLowerInvariant();
            GatewayMetrics.Instance.DeliveryResult(envelope.Pool, status, envelope.Tenant);
            if (r.Status != RecipientStatus.Deferred) GatewayMetrics.Instance.Finished(envelope.Pool, status, recorded.At - envelope.ReceivedAt);
            log.Info($"{queueId}: tenant={envelope.Tenant} pool={envelope.Pool} to=<{r.Recipient}> status={r.Status.ToString().ToLowerInvariant()} " +
                     $"({r.Diagnostic}) relay={r.RemoteMta ?? "none"} tls={r.Tls ?? "none"}{(r.Tls?.Contains(" policy=") == true ? "" : $" policy={TlsPolicyName.Of(r.Policy)}")} verified={(r.CertificateVerified ? "yes" : "no")} attempt={recorded.Attempt}" +
                     (r.Status == RecipientStatus.Deferred ? $" next={recorded.NextAttemptAt:O}" : "") + (r.Egress is null ? "" : $" egress={r.Egress}"));
        }
        if (recorded.Completes) log.Info("{0}: removed (all recipients done)", queueId);
    }

    public static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..];
}
