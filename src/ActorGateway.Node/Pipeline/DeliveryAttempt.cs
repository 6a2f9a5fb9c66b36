using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Delivery;
using ActorGateway.Node.Operations;
using ActorGateway.Smtp.Protocol;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Journal;
using ActorGateway.Node.Retention;

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
        var asks = recipients.GroupBy(Domain, StringComparer.OrdinalIgnoreCase).Select(group =>
        {
            var addresses = group.ToArray();
            var tls = services.TlsPolicy.Find(Domain(envelope.Sender), group.Key);
            var job = new DeliveryJob(queueId, envelope.Sender, addresses, body, envelope.EnvelopeId, tls);
            return pool.Ask<object>(new DeliverRequest(group.Key, job), services.AttemptTimeout).ContinueWith(t => t switch
            {
                { IsCompletedSuccessfully: true, Result: DeliverResult r } => (r, false),
                { IsCompletedSuccessfully: true, Result: PoolUnavailable } => (new DeliverResult(group.Key, DeliveryOutcome.All(addresses,
                    RecipientStatus.Deferred, "4.4.1", $"x-gateway; no gateway of the {poolName} pool is available")), true),
                _ => (new DeliverResult(group.Key, DeliveryOutcome.All(addresses, RecipientStatus.Deferred, "4.4.1", "x-gateway; delivery attempt timed out")), false),
            });
        }).ToArray();
        return Task.WhenAll(asks).ContinueWith(t => t.Result.All(r => r.Item2)
            ? (object)new PoolWait(poolName)
            : new Finished(attempt, t.Result.Select(r => r.Item1).ToArray()), TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <summary>
    /// The event for a finished attempt: each recipient's answer, when to try again, and whether
    /// it completes the message (every pending recipient has its final answer and none needs an
    /// NDR, neither from this attempt nor from an earlier one).
    /// </summary>
    public static AttemptRecorded Record(Finished finished, MessageEnvelope envelope, IReadOnlyDictionary<string, QueuedRecipient> pending,
        bool bouncesOutstanding, RetrySchedule retry)
    {
        var now = DateTimeOffset.UtcNow;
        var results = finished.Results.SelectMany(r => r.Outcome.Recipients.Select(o =>
            new RecipientResult(o.Recipient, o.Status, o.StatusCode, o.Diagnostic, o.RemoteMta, r.Outcome.Tls, r.Outcome.SourceAddress))).ToArray();
        var deferred = results.Any(r => r.Status == RecipientStatus.Deferred);
        DateTimeOffset? next = deferred ? now + retry.DelayAfter(finished.Attempt) : null;
        var first = finished.Results.FirstOrDefault()?.Outcome;
        var completes = !deferred && !bouncesOutstanding
                        && pending.Keys.All(p => results.Any(r => r.Recipient.Equals(p, StringComparison.OrdinalIgnoreCase)))
                        && !results.Any(r => r.Status == RecipientStatus.Failed && pending.TryGetValue(r.Recipient, out var q) && WantsFailureNotice(envelope, q));
        return new AttemptRecorded(finished.Attempt, now, results, first?.RemoteMta, first?.Tls, next, completes);
    }

    /// <summary>
    /// The events an attempt writes, in one atomic write: the attempt (the sweeper reads when the
    /// message is due again) and, if it completes the message, MessageCompleted with its delivery
    /// record (the sweeper then deletes the message), so that no crash can leave a completed
    /// message without the event that has it deleted.
    /// </summary>
    public static IReadOnlyList<Tagged> EventsOf(string queueId, MessageEnvelope envelope, byte[] body, IEnumerable<AttemptRecorded> earlier, AttemptRecorded recorded) =>
        recorded.Completes
            ? [new Tagged(recorded, [QueueTags.Attempted]), Completion(queueId, envelope, body, earlier.Append(recorded), recorded.At)]
            : [new Tagged(recorded, [QueueTags.Attempted])];

    /// <summary>The last event of a message: MessageCompleted with its delivery record, tagged done.</summary>
    public static Tagged Completion(string queueId, MessageEnvelope envelope, byte[] body, IEnumerable<AttemptRecorded> attempts, DateTimeOffset at) =>
        new(new MessageCompleted(at, DeliveryRecord.Of(queueId, envelope, body, attempts, at)), [QueueTags.Done]);

    /// <summary>Once the attempt is in the journal: one log line and one metric per recipient.</summary>
    public static void Report(ILoggingAdapter log, string queueId, MessageEnvelope envelope, AttemptRecorded recorded)
    {
        foreach (var r in recorded.Results)
        {
            GatewayMetrics.Instance.DeliveryResult(envelope.Pool, r.Status.ToString().ToLowerInvariant());
            log.Info($"{queueId}: tenant={envelope.Tenant} pool={envelope.Pool} to=<{r.Recipient}> status={r.Status.ToString().ToLowerInvariant()} " +
                     $"({r.Diagnostic}) relay={r.RemoteMta ?? "none"} tls={r.Tls ?? "none"} attempt={recorded.Attempt}" +
                     (r.Status == RecipientStatus.Deferred ? $" next={recorded.NextAttemptAt:O}" : "") + (r.Egress is null ? "" : $" egress={r.Egress}"));
        }
        if (recorded.Completes) log.Info("{0}: removed (all recipients done)", queueId);
    }

    /// <summary>NDRs go to real senders only, never about an NDR, and as NOTIFY allows (RFC 3461 4.1).</summary>
    public static bool WantsFailureNotice(MessageEnvelope envelope, QueuedRecipient r)
    {
        if (envelope.IsBounce || envelope.Sender.Length == 0) return false;
        var notify = (DsnNotify)r.Notify;
        return notify == DsnNotify.Unspecified || notify.HasFlag(DsnNotify.Failure);
    }

    public static string Domain(string address) => address[(address.LastIndexOf('@') + 1)..];
}
