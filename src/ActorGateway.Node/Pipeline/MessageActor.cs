using ActorGateway.Mail.Bounce;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Delivery;
using ActorGateway.Smtp.Protocol;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorGateway.Node.Pipeline;

/// <summary>What a message entity needs from its node.</summary>
/// <param name="Pools">The router of each pool on this node.</param>
/// <param name="PoolWaitInterval">How often a message whose pool has no node up looks again.</param>
/// <param name="Records">Delivery records of completed messages (the intake looks up NDRs handed over again).</param>
public sealed record MessageServices(IReadOnlyDictionary<string, IActorRef> Pools, Func<IActorRef> Intake, RetrySchedule Retry, string ReportingMta,
    TimeSpan AttemptTimeout, TlsPolicy TlsPolicy, TimeSpan PoolWaitInterval, ActorGateway.Node.Retention.DeliveryRecordStore? Records = null);

/// <summary>
/// One message, from acceptance to its last recipient (Postfix's cleanup + qmgr for one
/// queue file). A sharded, persistent entity: its journal is the queue entry, so whichever
/// node runs it after a restart or failover continues where the last recorded step ended.
/// Delivery is at-least-once: an attempt is recorded only after the receiving servers
/// answered, and a recorded delivery is never repeated.
/// </summary>
public sealed class MessageActor : ReceivePersistentActor, IWithTimers
{
    sealed class AttemptDue { public static readonly AttemptDue Instance = new(); }
    sealed record BounceAccepted(int Attempt, string BounceId);
    sealed record BounceFailed(int Attempt, string Reason);

    readonly string _queueId;
    readonly MessageServices _services;
    readonly ILoggingAdapter _log = Context.GetLogger();

    MessageEnvelope? _envelope;
    byte[] _body = [];
    readonly Dictionary<string, QueuedRecipient> _pending = new(StringComparer.OrdinalIgnoreCase);
    readonly SortedDictionary<int, List<FailedRecipient>> _bouncesToQueue = new();
    readonly HashSet<int> _bouncesInFlight = [];
    int _attempts;
    DateTimeOffset? _nextAttempt;
    bool _completed, _attemptRunning, _waitingForPool, _recoveredPending, _held, _poolWaitJournaled;
    readonly List<AttemptRecorded> _history = [];

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId => PersistenceIdOf(_queueId);

    const string PersistenceIdPrefix = "msg-";

    public static string PersistenceIdOf(string queueId) => PersistenceIdPrefix + queueId;

    /// <summary>The queue id of a message's journal (as the queue sweeper reads it).</summary>
    public static string QueueIdOf(string persistenceId) => persistenceId[PersistenceIdPrefix.Length..];

    public static Props Props(string queueId, MessageServices services) => Akka.Actor.Props.Create(() => new MessageActor(queueId, services));

    public MessageActor(string queueId, MessageServices services)
    {
        _queueId = queueId;
        _services = services;
        // A message's journal is short and never snapshotted: skip the snapshot query on every recovery.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<MessageAccepted>(Apply);
        Recover<AttemptRecorded>(Apply);
        Recover<BounceQueued>(Apply);
        Recover<MessageCompleted>(Apply);
        Recover<MessageHeld>(_ => _held = true);
        Recover<MessageReleased>(_ => _held = false);
        Recover<PoolWaitStarted>(_ => _poolWaitJournaled = true);
        Recover<RecoveryCompleted>(_ =>
        {
            if (_completed) Passivate();
            else if (_envelope is not null)
            {
                // Logged on the first wake unless that comes from the intake: then it is a new
                // message, else one picked up again (restart, passivation, a failover to this node).
                _recoveredPending = true;
                // Never attempted: the intake may be making the first attempt right now. Only a wake
                // (from the intake, the sweeper or the operator) starts one here.
                if (_attempts > 0) ScheduleNextAttempt();
            }
        });

        // Written by MessageIntake; a second hand-over of the same message finds it here.
        Command<AcceptMessage>(a => Sender.Tell(_envelope is null ? new MessageNotStored(_queueId, "not in the journal") : new MessageStored(_queueId)));
        Command<WakeMessage>(wake =>
        {
            if (_envelope is null || _completed) { Sender.Tell(new MessageIsDone(_queueId)); Passivate(); return; }
            if (_recoveredPending && !wake.JustAccepted)
                _log.Info("{0}: resumed on {1}, {2} recipient(s) pending after {3} attempt(s)",
                    _queueId, Akka.Cluster.Cluster.Get(Context.System).SelfAddress, _pending.Count, _attempts);
            _recoveredPending = false;
            ScheduleNextAttempt();
        });
        Command<AttemptDue>(_ => StartAttempt());
        // The intake made the first attempt but could not journal it: recorded here, unless this entity attempted meanwhile.
        Command<RecordFirstAttempt>(r =>
        {
            if (_envelope is null || _completed || _attempts > 0 || _attemptRunning)
                _log.Warning("{0}: first attempt's answers from the intake not recorded: the message moved on meanwhile", _queueId);
            else PersistAttempt(r.Recorded);
        });
        Command<GetMessageDetails>(_ =>
        {
            Sender.Tell(new MessageDetails(_queueId, State(), _envelope, _body.Length, _pending.Keys.ToArray(), _history.ToArray(), _nextAttempt));
            if (_envelope is null) Passivate();
        });
        Command<ControlMessage>(Control);
        Command<DeliveryAttempt.Finished>(f => { _waitingForPool = false; RecordAttempt(f); });
        Command<DeliveryAttempt.PoolWait>(WaitForPool);
        Command<BounceAccepted>(b => Persist(new BounceQueued(b.Attempt, b.BounceId), e =>
        {
            Apply(e);
            _log.Info("{0}: NDR queued as {1}", _queueId, b.BounceId);
            CompleteIfDone();
        }));
        Command<BounceFailed>(b =>
        {
            _bouncesInFlight.Remove(b.Attempt);
            _log.Warning("{0}: could not queue the NDR ({1}); retrying in 30s", _queueId, b.Reason);
            Timers.StartSingleTimer("bounce", AttemptDue.Instance, TimeSpan.FromSeconds(30));
        });
    }

    // ---- delivery attempts ----

    // ---- operations: hold, release, retry now, bounce ----

    string State() => _envelope is null ? "unknown" : _completed ? "done" : _held ? "held" : _attemptRunning ? "delivering"
        : _waitingForPool ? "waiting for its pool" : _attempts > 0 ? "deferred" : "queued";

    void Control(ControlMessage command)
    {
        if (_envelope is null || _completed) { Sender.Tell(new ControlResult(_queueId, false, _envelope is null ? "no such message" : "already done")); return; }
        var replyTo = Sender;
        switch (command.Action)
        {
            case QueueAction.Hold when _held:
            case QueueAction.Release when !_held:
                replyTo.Tell(new ControlResult(_queueId, false, _held ? "already held" : "not held"));
                break;
            case QueueAction.Hold:
                Persist(new MessageHeld(DateTimeOffset.UtcNow), _ =>
                {
                    _held = true;
                    Timers.Cancel("attempt");
                    _log.Info("{0}: held by the operator", _queueId);
                    replyTo.Tell(new ControlResult(_queueId, true, "held: no delivery attempts until released"));
                });
                break;
            case QueueAction.Release:
                Persist(new MessageReleased(DateTimeOffset.UtcNow), _ =>
                {
                    _held = false;
                    _log.Info("{0}: released by the operator", _queueId);
                    ScheduleNextAttempt();
                    replyTo.Tell(new ControlResult(_queueId, true, "released"));
                });
                break;
            case QueueAction.Retry when _held || _attemptRunning:
                replyTo.Tell(new ControlResult(_queueId, false, _held ? "held: release it first" : "an attempt is running"));
                break;
            case QueueAction.Retry:
                _log.Info("{0}: retry now, asked by the operator", _queueId);
                Timers.Cancel("attempt");
                StartAttempt();
                replyTo.Tell(new ControlResult(_queueId, true, "delivery attempt started"));
                break;
            case QueueAction.Bounce when _attemptRunning:
                replyTo.Tell(new ControlResult(_queueId, false, "an attempt is running; try again in a moment"));
                break;
            case QueueAction.Bounce:
                _log.Info("{0}: returned to the sender by the operator", _queueId);
                var pending = _pending.Keys.Select(r => new DeliverResult(Domain(r), DeliveryOutcome.All([r], RecipientStatus.Failed, "5.0.0",
                    "x-gateway; returned to the sender by the gateway's operator"))).ToArray();
                RecordAttempt(new DeliveryAttempt.Finished(_attempts + 1, pending));
                replyTo.Tell(new ControlResult(_queueId, true, $"{pending.Length} recipient(s) bounced"));
                break;
        }
    }

    void ScheduleNextAttempt()
    {
        if (_attemptRunning || _completed || _held) return;
        var wait = (_nextAttempt ?? DateTimeOffset.UtcNow) - DateTimeOffset.UtcNow;
        Timers.StartSingleTimer("attempt", AttemptDue.Instance, wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
    }

    void StartAttempt()
    {
        if (_attemptRunning || _completed || _envelope is null || _held) return;
        if (_pending.Count == 0) { QueueBounces(); CompleteIfDone(); return; }
        QueueBounces();

        var attempt = _attempts + 1;
        var now = DateTimeOffset.UtcNow;
        if (_services.Retry.IsExpired(_envelope.ReceivedAt, now))
        {
            var expired = _pending.Keys.Select(r => new DeliverResult(Domain(r), DeliveryOutcome.All([r], RecipientStatus.Failed, "5.4.7",
                $"x-gateway; delivery time expired after {_services.Retry.MaxLifetime.TotalDays:0.#} days"))).ToArray();
            RecordAttempt(new DeliveryAttempt.Finished(attempt, expired));
            return;
        }

        _attemptRunning = true;
        DeliveryAttempt.Run(_queueId, _envelope, _body, _pending.Keys.ToArray(), attempt, _services).PipeTo(Self);
    }

    void WaitForPool(DeliveryAttempt.PoolWait wait)
    {
        _attemptRunning = false;
        if (!_waitingForPool) _log.Warning("{0}: no gateway of pool {1} is available; waiting for one (never the other pool)", _queueId, wait.Pool);
        _waitingForPool = true;
        Timers.StartSingleTimer("attempt", AttemptDue.Instance, _services.PoolWaitInterval);
        // Never attempted: without this the sweeper would leave it to the accepting node's first attempt
        // (which handed it here) until that attempt's timeout, also after this entity was passivated.
        if (_attempts == 0 && !_poolWaitJournaled)
            Persist(new Tagged(new PoolWaitStarted(DateTimeOffset.UtcNow), [QueueTags.Attempted]), _ => _poolWaitJournaled = true);
    }

    void RecordAttempt(DeliveryAttempt.Finished finished) =>
        PersistAttempt(DeliveryAttempt.Record(finished, _envelope!, _pending, _bouncesToQueue.Count > 0, _services.Retry));

    void PersistAttempt(AttemptRecorded recorded)
    {
        var events = DeliveryAttempt.EventsOf(_queueId, _envelope!, _body, _history, recorded);
        // One atomic write; the handler runs once per event, the work is done after the last.
        var last = events[^1].Payload;
        PersistAll(events, e =>
        {
            if (!ReferenceEquals(e.Payload, last)) return;
            Apply(recorded);
            if (e.Payload is MessageCompleted completed) Apply(completed);
            _attemptRunning = false;
            DeliveryAttempt.Report(_log, _queueId, _envelope!, recorded);
            if (_completed)
            {
                Passivate();
                return;
            }
            QueueBounces();
            if (_pending.Count > 0) ScheduleNextAttempt();
            else CompleteIfDone();
        });
    }

    // ---- NDRs: built here, queued as messages of their own with the null sender ----

    void QueueBounces()
    {
        foreach (var (attempt, failed) in _bouncesToQueue)
        {
            if (!_bouncesInFlight.Add(attempt)) continue;
            var bounceId = $"{_queueId}-B{attempt}";
            var ndr = NdrBuilder.Build(
                new BouncedMessage(_queueId, _envelope!.Sender, _envelope.EnvelopeId, _envelope.ReturnHeadersOnly, _envelope.ReceivedAt, _body),
                failed, _services.ReportingMta,
                failed.Any(f => f.Status == "5.4.7") ? "It could not be delivered in time."
                : failed.Any(f => f.Status == "5.7.10") ? "A secure (TLS) connection to the receiving mail server is required for it, and could not be established."
                : "The receiving mail servers refused it permanently.");
            var bytes = NdrBuilder.ToBytes(ndr);
            var envelope = MessageEnvelope.BounceTo(_envelope.Tenant, _envelope.Sender);
            _services.Intake().Ask<object>(new AcceptMessage(bounceId, envelope, bytes), TimeSpan.FromSeconds(30))
                .PipeTo(Self, success: r => r is MessageStored ? new BounceAccepted(attempt, bounceId) : new BounceFailed(attempt, r.ToString() ?? ""),
                    failure: e => new BounceFailed(attempt, e.Message));
        }
    }

    void CompleteIfDone()
    {
        if (_completed || _attemptRunning || _pending.Count > 0 || _bouncesToQueue.Count > 0) return;
        var done = DeliveryAttempt.Completion(_queueId, _envelope!, _body, _history, DateTimeOffset.UtcNow);
        Persist(done, _ =>
        {
            Apply((MessageCompleted)done.Payload);
            _log.Info("{0}: removed (all recipients done)", _queueId);
            Passivate();
        });
    }

    void Passivate()
    {
        Timers.CancelAll();
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    // ---- state from events (the same code for live events and recovery) ----

    void Apply(MessageAccepted e)
    {
        _envelope = e.Envelope;
        _body = e.Body;
        foreach (var r in e.Envelope.Recipients) _pending[r.Address] = r;
    }

    void Apply(AttemptRecorded e)
    {
        _history.Add(e);
        _attempts = e.Attempt;
        _completed |= e.Completes;
        _nextAttempt = e.NextAttemptAt;
        var failed = new List<FailedRecipient>();
        foreach (var r in e.Results)
        {
            if (r.Status == RecipientStatus.Deferred || !_pending.Remove(r.Recipient, out var recipient)) continue;
            if (r.Status == RecipientStatus.Failed && WantsFailureNotice(recipient))
                failed.Add(new FailedRecipient(r.Recipient, recipient.OriginalRecipient, r.StatusCode, r.Diagnostic, r.RemoteMta, e.At));
        }
        if (failed.Count > 0) _bouncesToQueue[e.Attempt] = failed;
    }

    void Apply(BounceQueued e)
    {
        _bouncesToQueue.Remove(e.Attempt);
        _bouncesInFlight.Remove(e.Attempt);
    }

    void Apply(MessageCompleted e) => _completed = true;

    bool WantsFailureNotice(QueuedRecipient r) => DeliveryAttempt.WantsFailureNotice(_envelope!, r);

    static string Domain(string address) => DeliveryAttempt.Domain(address);
}
