using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;

namespace ActorGateway.Node.Queue;

/// <summary>A destination the queue sweeper knows to be paused: its mail is deferred without an attempt until then.</summary>
public sealed record PausedDestination(string Pool, string Domain, DateTimeOffset Until);

/// <summary>
/// What the journaled attempts say about paused destinations (a node stops connecting to a
/// destination for a while after repeated failures, see DestinationConcurrency), so that the
/// queue sweeper defers a due message that waits on nothing but such destinations to its next
/// retry time itself, as Postfix's queue manager defers mail for a dead destination without
/// handing it to a delivery agent. Waking it would cost its entity's recovery from the journal, a
/// request answered "paused" and a journal write, for the same outcome: behind a receiver that is
/// down for hours that is most of what a node does.
/// A pause is known by pool and recipient domain until it ends, or until an attempt through that
/// pool reaches the domain's receiver (delivered, or refused for good). A message is held back
/// only while its last attempt found every domain it waits on paused, and each of them is known
/// paused beyond the message's due time, and it is not past its lifetime. Anything else wakes it
/// as before; so does a new sweeper, which knows nothing until attempts tell it.
/// The message's journal is not written: its next retry time is the sweeper's (queue_pending).
/// </summary>
public sealed class PausedDestinations(RetrySchedule retry)
{
    readonly Dictionary<(string Pool, string Domain), DateTimeOffset> _until = new();
    // The destinations each message's last attempt found paused; one shared instance per set, so
    // that a million messages behind one receiver cost a reference each.
    readonly Dictionary<string, Waiting> _waiting = new(StringComparer.Ordinal);
    readonly Dictionary<string, Waiting> _shared = new(StringComparer.Ordinal);

    sealed record Waiting(string Pool, string[] Domains)
    {
        /// <summary>For the log line of each message held back: made once per set, not per message.</summary>
        public string Text { get; } = $"{string.Join(", ", Domains)} ({Pool})";
    }

    /// <summary>Learns from a journaled attempt of the message: pauses found, receivers reached, what the message now waits on.</summary>
    public void Attempted(string queueId, AttemptRecorded attempt)
    {
        if (attempt.Pool is not { } pool) { _waiting.Remove(queueId); return; }
        foreach (var domain in attempt.Results.GroupBy(r => DeliveryAttempt.Domain(r.Recipient).ToLowerInvariant()))
        {
            var key = (pool, domain.Key);
            // A receiver that answered for good is reachable from this pool, whatever another node's pause said.
            if (domain.Any(r => !r.NotAttempted && r.Status != RecipientStatus.Deferred)) _until.Remove(key);
            else if (domain.Max(r => r.PausedUntil) is { } until && (!_until.TryGetValue(key, out var known) || known < until)) _until[key] = until;
        }
        var deferred = attempt.Results.Where(r => r.Status == RecipientStatus.Deferred).ToArray();
        // A recipient failed in it: its NDR is queued when the message's entity takes it over, which a
        // wake must not wait for (after a crash the entity may not have done it yet).
        if (attempt.NextAttemptAt is null || deferred.Length == 0 || deferred.Any(r => r.PausedUntil is null)
            || attempt.Results.Any(r => r.Status == RecipientStatus.Failed))
        {
            _waiting.Remove(queueId);
            return;
        }
        var domains = deferred.Select(r => DeliveryAttempt.Domain(r.Recipient).ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal).ToArray();
        var name = pool + " " + string.Join(' ', domains);
        if (!_shared.TryGetValue(name, out var waiting))
        {
            // Bounded: a set dropped here stays with the messages that hold it; the next one makes a new instance.
            if (_shared.Count >= 10_000) _shared.Clear();
            _shared[name] = waiting = new Waiting(pool, domains);
        }
        _waiting[queueId] = waiting;
    }

    /// <summary>The paused destinations the message waits on, as the log names them ("rcpt.example (good)"); null if none.</summary>
    public string? WaitsOn(string queueId) => _waiting.TryGetValue(queueId, out var waiting) ? waiting.Text : null;

    /// <summary>The message is done, or waits for something else now (its pool, a connection).</summary>
    public void Forget(string queueId) => _waiting.Remove(queueId);

    /// <summary>
    /// For a message due at <paramref name="due"/>: its next retry time on the schedule counted from
    /// <paramref name="received"/>, not before the pauses end, if it is to be held back; else null (wake it).
    /// </summary>
    public DateTimeOffset? HoldBack(string queueId, DateTimeOffset? received, DateTimeOffset due, DateTimeOffset now)
    {
        if (received is not { } receivedAt || !_waiting.TryGetValue(queueId, out var waiting)) return null;
        var from = due > now ? due : now;
        var expires = receivedAt + retry.MaxLifetime;
        if (from >= expires) return null; // its entity returns it to the sender
        var pausedUntil = DateTimeOffset.MinValue;
        foreach (var domain in waiting.Domains)
        {
            if (!_until.TryGetValue((waiting.Pool, domain), out var until) || until <= from) return null;
            if (until > pausedUntil) pausedUntil = until;
        }
        var next = retry.NextAfter(receivedAt, from);
        if (next < pausedUntil) next = pausedUntil;
        return next < expires ? next : expires;
    }

    /// <summary>The pauses known now, and forgets those that ended.</summary>
    public IReadOnlyList<PausedDestination> Current(DateTimeOffset now)
    {
        foreach (var ended in _until.Where(p => p.Value <= now).Select(p => p.Key).ToArray()) _until.Remove(ended);
        return _until.Select(p => new PausedDestination(p.Key.Pool, p.Key.Domain, p.Value))
            .OrderBy(p => p.Pool, StringComparer.Ordinal).ThenBy(p => p.Domain, StringComparer.Ordinal).ToArray();
    }
}
