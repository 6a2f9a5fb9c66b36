using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Delivery;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorGateway.Node.Pipeline;

/// <summary>What a message entity needs from its node.</summary>
/// <param name="Pools">The router of each pool on this node.</param>
/// <param name="Mail">Queues the NDRs it writes.</param>
/// <param name="PoolWaitInterval">How often a message whose pool has no node up looks again.</param>
/// <param name="Records">Delivery records of completed messages (the intake looks up NDRs handed over again).</param>
public sealed record MessageServices(IReadOnlyDictionary<string, IActorRef> Pools, GatewayMail Mail, RetrySchedule Retry,
    DeliveryTimeouts Timeouts, TlsPolicy TlsPolicy, TimeSpan PoolWaitInterval, ActorGateway.Node.Retention.DeliveryRecordStore? Records = null)
{
    /// <summary>Recipient domains' MTA-STS policies as this node knows them (null: MTA-STS is off).</summary>
    public ActorGateway.Mail.Delivery.MtaSts.MtaStsPolicies? MtaSts { get; init; }
    /// <summary>
    /// A message whose next attempt is further ahead than this leaves memory until the queue sweeper
    /// wakes it (which it does from the journal, when due): a long queue behind a receiver that is
    /// down is then on disk, as Postfix's deferred queue is, not thousands of bodies in entities.
    /// The intake does not hand such a message to its entity at all after the first attempt.
    /// </summary>
    public TimeSpan ParkBeyond { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Tenants' delivery events (webhooks), emitted once an attempt is journaled.</summary>
    public ActorGateway.Node.Events.DeliveryEvents Events { get; init; } = ActorGateway.Node.Events.DeliveryEvents.None;

    /// <summary>
    /// Answers of attempts this node made but could not journal (the database failed), by queue id.
    /// The entity is stopped by the failed write; its next incarnation on this node writes them
    /// instead of attempting again, so that a delivery that happened is not made twice.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, AttemptRecorded> Unrecorded { get; } = new();
}

/// <summary>
/// One message after its first attempt: retries, NDRs, the operator's hold, release and bounce,
/// until it is done (Postfix's qmgr for one queue file). A sharded, persistent entity that hosts
/// the message's <see cref="MessageLifecycle"/>: it persists what the lifecycle decides and
/// carries out the effects. Its journal is the queue entry, so whichever node runs it after a
/// restart or failover continues where the last recorded step ended. Delivery is at-least-once:
/// an attempt is recorded only after the receiving servers answered, and a recorded delivery is
/// never repeated.
/// </summary>
public sealed class MessageActor : ReceivePersistentActor, IWithTimers
{
    sealed class AttemptDue { public static readonly AttemptDue Instance = new(); }
    sealed record BounceAccepted(int Attempt, string BounceId);
    sealed record BounceFailed(int Attempt, string Reason);

    readonly string _queueId;
    readonly MessageServices _services;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly MessageLifecycle _message;
    // Not journaled: what this incarnation is doing right now.
    readonly HashSet<int> _bouncesInFlight = [];
    bool _attemptRunning, _waitingForPool, _waitingForConnection, _recoveredPending, _stopWhenIdle;

    /// <summary>
    /// What the shard sends to stop an entity (idle passivation, hand-off): one with a delivery
    /// running stops once its answer is on record, never in the middle, so that no second
    /// incarnation sends the message again while the first one's request is still under way.
    /// </summary>
    public sealed class StopEntity { public static readonly StopEntity Instance = new(); }

    bool Busy => _attemptRunning || _bouncesInFlight.Count > 0;

    void StopIfAsked() { if (_stopWhenIdle && !Busy) Context.Stop(Self); }

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
        _message = new MessageLifecycle(queueId);
        // A message's journal is short and never snapshotted: skip the snapshot query on every recovery.
        SnapshotPluginId = "akka.persistence.no-snapshot-store";

        Recover<RecoveryCompleted>(_ =>
        {
            if (_message.Completed) Passivate();
            else if (_message.Exists)
            {
                // Logged on the first wake unless that comes from the intake: then it is a new
                // message, else one picked up again (restart, passivation, a failover to this node).
                // Only a wake (from the intake or the sweeper) or the operator starts an attempt: an
                // entity recovered to answer a question leaves again. Its journaled retry time is not
                // the last word: the sweeper defers mail for paused destinations without waking it.
                _recoveredPending = true;
            }
        });
        Recover<object>(_message.Apply);

        Command<WakeMessage>(wake =>
        {
            if (!_message.Exists || _message.Completed) { Sender.Tell(new MessageIsDone(_queueId)); Passivate(); return; }
            if (_recoveredPending && !wake.JustAccepted)
                _log.Info("{0}: resumed on {1}, {2} recipient(s) pending after {3} attempt(s)",
                    _queueId, Akka.Cluster.Cluster.Get(Context.System).SelfAddress, _message.Pending.Count, _message.Attempts);
            _recoveredPending = false;
            ScheduleNextAttempt();
        });
        Command<AttemptDue>(_ => StartAttempt());
        // The intake made the first attempt but could not journal it: recorded here, unless this entity attempted meanwhile.
        Command<RecordFirstAttempt>(r =>
        {
            if (!_message.Exists || _message.Completed || _message.Attempts > 0 || _attemptRunning)
                _log.Warning("{0}: first attempt's answers from the intake not recorded: the message moved on meanwhile", _queueId);
            else PersistAttempt(_message.EventsOf(r.Recorded));
        });
        Command<GetMessageDetails>(_ =>
        {
            var m = _message;
            Sender.Tell(new MessageDetails(_queueId, m.State(_attemptRunning, _waitingForPool), m.Envelope, m.Body.Length, m.Pending.ToArray(),
                m.History.ToArray(), m.NextAttempt));
            // An entity that has nothing to do was started only to answer: it stops, so that the next
            // question reads the journal again. Kept alive, it would keep showing new mail as it was
            // while the intake made the first attempt and journaled it.
            if (!m.Exists || (!Busy && !_waitingForPool && !_waitingForConnection && !Timers.IsTimerActive("attempt") && !Timers.IsTimerActive("bounce")))
                Passivate();
        });
        Command<StopEntity>(_ =>
        {
            if (Busy) _stopWhenIdle = true;
            else Context.Stop(Self);
        });
        Command<ControlMessage>(Control);
        Command<DeliveryAttempt.Finished>(f =>
        {
            _waitingForPool = false;
            if (MessageLifecycle.OnlyWaited(f)) WaitForConnection(f);
            else { _waitingForConnection = false; RecordAttempt(f); }
        });
        Command<DeliveryAttempt.PoolWait>(WaitForPool);
        Command<BounceAccepted>(b => Persist(new BounceQueued(b.Attempt, b.BounceId), e =>
        {
            _message.Apply(e);
            _bouncesInFlight.Remove(b.Attempt);
            _log.Info("{0}: NDR queued as {1}", _queueId, b.BounceId);
            CompleteIfDone();
            if (_message.Pending.Count > 0) ScheduleNextAttempt();
            StopIfAsked();
        }));
        Command<BounceFailed>(b =>
        {
            _bouncesInFlight.Remove(b.Attempt);
            _log.Warning("{0}: could not queue the NDR ({1}); retrying in 30s", _queueId, b.Reason);
            Timers.StartSingleTimer("bounce", AttemptDue.Instance, TimeSpan.FromSeconds(30));
            StopIfAsked();
        });
    }

    // ---- operations: hold, release, retry now, bounce ----

    void Control(ControlMessage command)
    {
        if (!_message.Exists || _message.Completed)
        {
            Sender.Tell(new ControlResult(_queueId, false, _message.Exists ? "already done" : "no such message"));
            return;
        }
        var replyTo = Sender;
        switch (command.Action)
        {
            case QueueAction.Hold when _message.Held:
            case QueueAction.Release when !_message.Held:
                replyTo.Tell(new ControlResult(_queueId, false, _message.Held ? "already held" : "not held"));
                break;
            case QueueAction.Hold:
                Persist(new MessageHeld(DateTimeOffset.UtcNow), e =>
                {
                    _message.Apply(e);
                    Timers.Cancel("attempt");
                    _log.Info("{0}: held by the operator", _queueId);
                    replyTo.Tell(new ControlResult(_queueId, true, "held: no delivery attempts until released"));
                });
                break;
            case QueueAction.Release:
                Persist(new MessageReleased(DateTimeOffset.UtcNow), e =>
                {
                    _message.Apply(e);
                    _log.Info("{0}: released by the operator", _queueId);
                    ScheduleNextAttempt();
                    replyTo.Tell(new ControlResult(_queueId, true, "released"));
                });
                break;
            case QueueAction.Retry when _message.Held || _attemptRunning:
                replyTo.Tell(new ControlResult(_queueId, false, _message.Held ? "held: release it first" : "an attempt is running"));
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
                var bounce = _message.OperatorBounce();
                RecordAttempt(bounce);
                replyTo.Tell(new ControlResult(_queueId, true, $"{bounce.Results.Count} recipient(s) bounced"));
                break;
        }
    }

    // ---- delivery attempts ----

    /// <summary>
    /// NDRs an earlier attempt left to queue go now (the intake's first attempt leaves them to the
    /// entity), not at the next attempt; then the entity waits for that attempt, or leaves memory
    /// when it is far ahead.
    /// </summary>
    void ScheduleNextAttempt()
    {
        if (_attemptRunning || _message.Completed || _message.Held) return;
        QueueBounces();
        var now = DateTimeOffset.UtcNow;
        if (_message.WaitsBeyond(_services.ParkBeyond, now) && !Busy && !Timers.IsTimerActive("bounce"))
        {
            Passivate();
            return;
        }
        var wait = (_message.NextAttempt ?? now) - now;
        Timers.StartSingleTimer("attempt", AttemptDue.Instance, wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
    }

    void StartAttempt()
    {
        if (_attemptRunning || _message.Completed || !_message.Exists || _message.Held) return;
        if (_services.Unrecorded.TryRemove(_queueId, out var unrecorded) && unrecorded.Attempt == _message.Attempts + 1)
        {
            _log.Info("{0}: journaling attempt {1}, made before a failed write, instead of attempting again", _queueId, unrecorded.Attempt);
            _attemptRunning = true;
            PersistAttempt(_message.EventsOf(unrecorded));
            return;
        }
        QueueBounces();
        if (_message.Pending.Count == 0) { CompleteIfDone(); return; }
        if (_message.Expiry(_services.Retry, DateTimeOffset.UtcNow) is { } expired)
        {
            RecordAttempt(expired);
            return;
        }
        _attemptRunning = true;
        DeliveryAttempt.Run(_queueId, _message.Envelope!, _message.Body, _message.Pending.ToArray(), _message.Attempts + 1, _services).PipeTo(Self);
    }

    void WaitForPool(DeliveryAttempt.PoolWait wait)
    {
        _attemptRunning = false;
        if (!_waitingForPool) _log.Warning("{0}: no gateway of pool {1} is available; waiting for one (never the other pool)", _queueId, wait.Pool);
        _waitingForPool = true;
        Timers.StartSingleTimer("attempt", AttemptDue.Instance, _services.PoolWaitInterval);
        // Never attempted: without this the sweeper would leave it to the accepting node's first attempt
        // (which handed it here) until that attempt's timeout, also after this entity was passivated.
        if (_message.Attempts == 0 && !_message.PoolWaitRecorded)
            Persist(new Tagged(new PoolWaitStarted(DateTimeOffset.UtcNow), [QueueTags.Attempted]), e => { _message.Apply(e.Payload); StopIfAsked(); });
        else StopIfAsked();
    }

    /// <summary>
    /// No connection to its destinations was free in time: it asks again at once (a second later),
    /// without an attempt on record. Its first such wait is journaled (as a pool wait is) so that the
    /// queue sweeper wakes it on every sweep, also after a failover, whatever its retry time says.
    /// </summary>
    void WaitForConnection(DeliveryAttempt.Finished waited)
    {
        _attemptRunning = false;
        if (!_waitingForConnection)
            _log.Info("{0}: waited {1} for a connection to {2}; waiting on", _queueId, _services.Timeouts.QueueWait,
                string.Join(", ", waited.Results.Select(r => r.Domain)));
        _waitingForConnection = true;
        if (!_stopWhenIdle) Timers.StartSingleTimer("attempt", AttemptDue.Instance, TimeSpan.FromSeconds(1));
        if (_message.Attempts == 0 && !_message.PoolWaitRecorded)
            Persist(new Tagged(new PoolWaitStarted(DateTimeOffset.UtcNow), [QueueTags.Attempted]), e => { _message.Apply(e.Payload); StopIfAsked(); });
        else StopIfAsked();
    }

    void RecordAttempt(DeliveryAttempt.Finished finished) => PersistAttempt(_message.EventsOf(_message.AttemptOf(finished, _services.Retry, DateTimeOffset.UtcNow)));

    /// <summary>An attempt's events in one atomic write; the work is done once the last is stored.</summary>
    void PersistAttempt(IReadOnlyList<Tagged> events)
    {
        _recording = (AttemptRecorded)events[0].Payload;
        var last = events[^1].Payload;
        PersistAll(events, e =>
        {
            _message.Apply(e.Payload);
            if (!ReferenceEquals(e.Payload, last)) return;
            _recording = null;
            _attemptRunning = false;
            DeliveryAttempt.Report(_log, _queueId, _message.Envelope!, (AttemptRecorded)events[0].Payload);
            _services.Events.Attempted(_queueId, _message.Envelope!, _message.Body, (AttemptRecorded)events[0].Payload);
            if (_message.Completed)
            {
                Passivate();
                return;
            }
            QueueBounces();
            if (_message.Pending.Count > 0) ScheduleNextAttempt();
            else CompleteIfDone();
            StopIfAsked();
        });
    }

    /// <summary>The attempt whose events are being written, if any.</summary>
    AttemptRecorded? _recording;

    /// <summary>Akka stops a persistent actor whose write failed; an attempt's answers are kept for its next incarnation.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (_recording is { } attempt)
        {
            _services.Unrecorded[_queueId] = attempt;
            _log.Warning("{0}: could not journal attempt {1} ({2}); its answers are kept on this node and journaled when the message is next woken",
                _queueId, attempt.Attempt, cause.Message);
        }
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    // ---- NDRs: queued as messages of their own with the null sender ----

    void QueueBounces()
    {
        foreach (var attempt in _message.BouncesToQueue)
        {
            if (!_bouncesInFlight.Add(attempt)) continue;
            var ndr = _message.Ndr(attempt);
            _services.Mail.QueueNdrAsync(ndr).PipeTo(Self,
                success: failure => failure is null ? new BounceAccepted(attempt, ndr.QueueId) : new BounceFailed(attempt, failure),
                failure: e => new BounceFailed(attempt, e.Message));
        }
    }

    void CompleteIfDone()
    {
        if (_attemptRunning || _message.Completion(DateTimeOffset.UtcNow) is not { } done) return;
        Persist(done, _ =>
        {
            _message.Apply(done.Payload);
            _log.Info("{0}: removed (all recipients done)", _queueId);
            Passivate();
        });
    }

    void Passivate()
    {
        Timers.CancelAll();
        Context.Parent.Tell(new Passivate(StopEntity.Instance));
    }
}
