using ActorGateway.Mail.Bounce;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Delivery;
using ActorGateway.Node.Retention;
using ActorGateway.Smtp.Protocol;
using Akka.Persistence.Journal;

namespace ActorGateway.Node.Pipeline;

/// <summary>
/// One message's lifecycle as a plain type, the queue file of Postfix in memory: its state is
/// what its events say (<see cref="Apply"/>), and what to write next is decided here, for the
/// intake's first attempt and for the entity's later ones alike. The actors that host it persist
/// what it decides and carry out the effects (delivery, NDRs, timers); the journal replays the
/// same events through the same Apply.
/// Events: MessageAccepted; AttemptRecorded (each recipient delivered, deferred or failed; the
/// attempt that leaves nothing to do is written together with MessageCompleted); PoolWaitStarted;
/// MessageHeld / MessageReleased; BounceQueued (the NDR for an attempt's failed recipients is in
/// the queue); MessageCompleted (carries the delivery record; the queue sweeper then deletes the
/// message, after which it has no events: unknown).
/// </summary>
public sealed class MessageLifecycle(string queueId)
{
    readonly Dictionary<string, QueuedRecipient> _pending = new(StringComparer.OrdinalIgnoreCase);
    readonly SortedDictionary<int, List<FailedRecipient>> _bouncesToQueue = new();
    readonly List<AttemptRecorded> _history = [];

    public string QueueId => queueId;
    public MessageEnvelope? Envelope { get; private set; }
    public byte[] Body { get; private set; } = [];
    /// <summary>The number of the last recorded attempt (0: none yet).</summary>
    public int Attempts { get; private set; }
    public DateTimeOffset? NextAttempt { get; private set; }
    public bool Completed { get; private set; }
    public bool Held { get; private set; }
    /// <summary>A PoolWaitStarted is in the journal (written once, for the queue sweeper).</summary>
    public bool PoolWaitRecorded { get; private set; }
    /// <summary>Accepted, and not deleted since.</summary>
    public bool Exists => Envelope is not null;
    public IReadOnlyCollection<string> Pending => _pending.Keys;
    public IReadOnlyList<AttemptRecorded> History => _history;
    /// <summary>Attempts whose failed recipients still need their NDR queued.</summary>
    public IReadOnlyCollection<int> BouncesToQueue => _bouncesToQueue.Keys;

    // ---- state from events (live and on recovery) ----

    public void Apply(object @event)
    {
        switch (@event)
        {
            case MessageAccepted e:
                Envelope = e.Envelope;
                Body = e.Body;
                foreach (var r in e.Envelope.Recipients) _pending[r.Address] = r;
                break;
            case AttemptRecorded e:
                _history.Add(e);
                Attempts = e.Attempt;
                Completed |= e.Completes;
                NextAttempt = e.NextAttemptAt;
                var failed = new List<FailedRecipient>();
                foreach (var r in e.Results)
                {
                    if (r.Status == RecipientStatus.Deferred || !_pending.Remove(r.Recipient, out var recipient)) continue;
                    if (r.Status == RecipientStatus.Failed && WantsFailureNotice(recipient))
                        failed.Add(new FailedRecipient(r.Recipient, recipient.OriginalRecipient, r.StatusCode, r.Diagnostic, r.RemoteMta, e.At));
                }
                if (failed.Count > 0) _bouncesToQueue[e.Attempt] = failed;
                break;
            case BounceQueued e:
                _bouncesToQueue.Remove(e.Attempt);
                break;
            case MessageCompleted:
                Completed = true;
                break;
            case MessageHeld:
                Held = true;
                break;
            case MessageReleased:
                Held = false;
                break;
            case PoolWaitStarted:
                PoolWaitRecorded = true;
                break;
        }
    }

    /// <summary>
    /// Nothing to do before its next attempt (no NDR to queue, not held), and that attempt more than
    /// <paramref name="within"/> ahead: the message can wait on disk, where the queue sweeper wakes
    /// it when it is due, instead of in an entity.
    /// </summary>
    public bool WaitsBeyond(TimeSpan within, DateTimeOffset now) =>
        Exists && !Completed && !Held && _pending.Count > 0 && _bouncesToQueue.Count == 0 && NextAttempt is { } next && next - now > within;

    /// <summary>What `queue show` says of it; the two flags are the hosting actor's (not journaled).</summary>
    public string State(bool attemptRunning, bool waitingForPool) =>
        !Exists ? "unknown" : Completed ? "done" : Held ? "held" : attemptRunning ? "delivering"
        : waitingForPool ? "waiting for its pool" : Attempts > 0 ? "deferred" : "queued";

    // ---- decisions: what to write next ----

    /// <summary>
    /// The record of a finished attempt: each recipient's answer, when to try again, and whether it
    /// leaves nothing to do (every pending recipient has its final answer, none needs an NDR, none
    /// from an earlier attempt is still to be queued).
    /// </summary>
    public AttemptRecorded AttemptOf(DeliveryAttempt.Finished finished, RetrySchedule retry, DateTimeOffset now)
    {
        var results = finished.Results.SelectMany(r => r.Outcome.Recipients.Select(o =>
            new RecipientResult(o.Recipient, o.Status, o.StatusCode, o.Diagnostic, o.RemoteMta, r.Outcome.Tls, r.Outcome.SourceAddress, o.NotAttempted,
                r.Outcome.Policy, r.Outcome.CertificateVerified, Paused: o.NotAttempted && r.PausedUntil is not null,
                PausedUntil: o.NotAttempted ? r.PausedUntil : null))).ToArray();
        var deferred = results.Any(r => r.Status == RecipientStatus.Deferred);
        var first = finished.Results.FirstOrDefault()?.Outcome;
        var completes = !deferred && _bouncesToQueue.Count == 0
                        && _pending.Keys.All(p => results.Any(r => r.Recipient.Equals(p, StringComparison.OrdinalIgnoreCase)))
                        && !results.Any(r => r.Status == RecipientStatus.Failed && _pending.TryGetValue(r.Recipient, out var q) && WantsFailureNotice(q));
        return new AttemptRecorded(finished.Attempt, now, results, first?.RemoteMta, first?.Tls,
            deferred ? NextAttemptAfter(finished, results, retry, now) : null, completes, Envelope?.Pool);
    }

    /// <summary>
    /// After the retry delay for the attempts that tried something; when every deferral came from a
    /// paused destination, not before its pause ends. A pause defers as a failed try does (as
    /// Postfix's dead-destination cache does): were such mail due at the end of each pause, a
    /// receiver down for hours would have the whole queue behind it tried again every pause.
    /// </summary>
    DateTimeOffset NextAttemptAfter(DeliveryAttempt.Finished finished, IReadOnlyList<RecipientResult> results, RetrySchedule retry, DateTimeOffset now)
    {
        var next = now + retry.DelayAfter(Math.Max(1, TriedAttempts(results)));
        var deferredDomains = finished.Results.Where(r => r.Outcome.Recipients.Any(o => o.Status == RecipientStatus.Deferred)).ToArray();
        if (deferredDomains.Length > 0 && deferredDomains.All(r => r.PausedUntil is not null)
            && deferredDomains.Max(r => r.PausedUntil!.Value) is var until && until > next) return until;
        return next;
    }

    /// <summary>
    /// The attempts so far, this one included, that tried at least one recipient or found its
    /// destination paused: the retry interval grows with these only. A destination's backlog
    /// defers mail "not attempted"; that says nothing about the receiver, and a growing interval
    /// would leave the destination idle while mail waits (Postfix's active queue simply keeps such
    /// mail waiting).
    /// </summary>
    int TriedAttempts(IReadOnlyList<RecipientResult> current) =>
        _history.Count(a => a.Results.Any(Tried)) + (current.Any(Tried) ? 1 : 0);

    static bool Tried(RecipientResult r) => !r.NotAttempted || r.Paused;

    /// <summary>
    /// Every destination of the attempt only had it wait (no connection free before its start-by
    /// time): nothing was sent and nothing is learnt about the receivers, so nothing is recorded;
    /// the message asks again, like mail in Postfix's active queue that waits for its destination.
    /// </summary>
    public static bool OnlyWaited(DeliveryAttempt.Finished finished) => finished.Results.Count > 0 && finished.Results.All(r => r.WaitedOut);

    /// <summary>
    /// The events that record an attempt, to be written in one atomic write: the attempt, and
    /// MessageCompleted with the delivery record when it completes the message, so that no crash
    /// can leave a completed message without the event that has it deleted.
    /// </summary>
    public IReadOnlyList<Tagged> EventsOf(AttemptRecorded recorded)
    {
        var attempt = new Tagged(recorded, [QueueTags.Attempted]);
        return recorded.Completes ? [attempt, CompletionEvent(_history.Append(recorded), recorded.At)] : [attempt];
    }

    /// <summary>MessageCompleted (tagged done) once nothing is left to do: no pending recipient, no NDR to queue; else null.</summary>
    public Tagged? Completion(DateTimeOffset now) =>
        Completed || !Exists || _pending.Count > 0 || _bouncesToQueue.Count > 0 ? null : CompletionEvent(_history, now);

    Tagged CompletionEvent(IEnumerable<AttemptRecorded> attempts, DateTimeOffset now) =>
        new(new MessageCompleted(now, DeliveryRecord.Of(queueId, Envelope!, Body, attempts, now)), [QueueTags.Done]);

    /// <summary>Past its lifetime: the attempt that fails every pending recipient (5.4.7), instead of another delivery; else null.</summary>
    public DeliveryAttempt.Finished? Expiry(RetrySchedule retry, DateTimeOffset now) =>
        retry.IsExpired(Envelope!.ReceivedAt, now)
            ? FailAll("5.4.7", $"x-gateway; delivery time expired after {retry.MaxLifetime.TotalDays:0.#} days") : null;

    /// <summary>The operator's bounce: every pending recipient fails (5.0.0), and gets its NDR.</summary>
    public DeliveryAttempt.Finished OperatorBounce() => FailAll("5.0.0", "x-gateway; returned to the sender by the gateway's operator");

    DeliveryAttempt.Finished FailAll(string status, string diagnostic) => new(Attempts + 1, _pending.Keys.Select(r =>
        new DeliverResult(DeliveryAttempt.Domain(r), DeliveryOutcome.All([r], RecipientStatus.Failed, status, diagnostic))).ToArray());

    /// <summary>
    /// The NDR for an attempt's failed recipients, to be queued as a message of its own, with a
    /// fixed id (queue id, "-B", attempt) so that a second hand-over after a crash is recognized.
    /// </summary>
    public NdrRequest Ndr(int attempt)
    {
        var failed = _bouncesToQueue[attempt];
        return new NdrRequest($"{queueId}-B{attempt}", Envelope!.Tenant,
            new BouncedMessage(queueId, Envelope.Sender, Envelope.EnvelopeId, Envelope.ReturnHeadersOnly, Envelope.ReceivedAt, Body), failed,
            failed.Any(f => f.Status == "5.4.7") ? "It could not be delivered in time."
            : failed.Any(f => f.Status == "5.7.10") ? "A secure (TLS) connection to the receiving mail server is required for it, and could not be established."
            : "The receiving mail servers refused it permanently.");
    }

    /// <summary>NDRs go to real senders only, never about an NDR, and as NOTIFY allows (RFC 3461 4.1).</summary>
    bool WantsFailureNotice(QueuedRecipient r)
    {
        if (Envelope!.IsBounce || Envelope.Sender.Length == 0) return false;
        var notify = (DsnNotify)r.Notify;
        return notify == DsnNotify.Unspecified || notify.HasFlag(DsnNotify.Failure);
    }
}
