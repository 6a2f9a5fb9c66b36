using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorGateway.Node.Pipeline;

/// <summary>
/// Where an accepted message enters the queue, on the node that received it (Postfix's
/// cleanup writing the queue file, and the qmgr's first delivery of it). One child per
/// message writes its first journal event, MessageAccepted, and answers; only then does the
/// client get its 250. The child then makes the first delivery attempt with the message
/// still in memory and journals its answers. Most mail is done at that point: it costs two
/// journal writes and no read. Only mail that needs another attempt or an NDR goes on to its
/// sharded entity, which takes over from the journal wherever its shard lives.
/// Acceptance thus needs only the local node and the database: it goes on while a dead
/// node's shards are still moving, and the body does not cross the network to be stored.
/// </summary>
public sealed class MessageIntake : ReceiveActor
{
    public static Props Props(Func<IActorRef> region, MessageServices services) =>
        Akka.Actor.Props.Create(() => new MessageIntake(region, services));

    /// <summary>
    /// This node's incarnation (address and uid), recorded in each message it accepts. A node
    /// that restarted has a new uid: the sweeper then knows the first attempt will not come.
    /// </summary>
    public static string NodeOf(ActorSystem system) => NodeOf(Cluster.Get(system).SelfUniqueAddress);

    public static string NodeOf(UniqueAddress node) => $"{node.Address}#{node.Uid}";

    /// <summary>
    /// The longest pause between two tries while the journal fails (writing a first attempt's
    /// answers, looking whether mail answered 451 was stored after all): after storage returns,
    /// they are done within this (the queue sweeper waits as long). Short, since only the mail in
    /// flight when storage failed retries, and an open circuit breaker fails its tries without a
    /// database call.
    /// </summary>
    public static readonly TimeSpan LongestWritePause = TimeSpan.FromSeconds(5);

    public MessageIntake(Func<IActorRef> region, MessageServices services)
    {
        var node = NodeOf(Context.System);
        Receive<AcceptMessage>(command =>
        {
            var child = Context.Child(command.QueueId);
            if (child.IsNobody()) child = Context.ActorOf(NewMessage.Props(region(), services, node), command.QueueId);
            child.Forward(command);
        });
    }

    // A child that fails is not restarted: the requester hears MessageNotStored or times out,
    // and mail already stored is picked up by the queue sweeper.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>
    /// One new message: writes its acceptance as event 1 of its journal, replies, makes the
    /// first attempt and writes its answers as event 2. It talks to the journal directly: a new
    /// queue id has no events to recover (a persistent actor would still ask for the highest
    /// sequence number first, one more database round trip per message). Should the id exist
    /// after all, the write fails on its sequence number: no 250.
    /// </summary>
    /// <remarks>
    /// An untyped actor with its states as type switches: a ReceiveActor builds its handlers when it
    /// starts and anew on every Become, four times in the life of this one, which is one message.
    /// </remarks>
    sealed class NewMessage : UntypedActor
    {
        readonly IActorRef _region;
        readonly MessageServices _services;
        readonly string _node;
        readonly ILoggingAdapter _log = Context.GetLogger();
        readonly IActorRef _journal;
        MessageAccepted _accepted = null!;

        public static Props Props(IActorRef region, MessageServices services, string node) =>
            Akka.Actor.Props.Create(() => new NewMessage(region, services, node));

        public NewMessage(IActorRef region, MessageServices services, string node)
        {
            _region = region; _services = services; _node = node;
            _journal = Persistence.Instance.Apply(Context.System).JournalFor(null);
        }

        protected override void OnReceive(object message)
        {
            if (message is AcceptMessage command) Accept(command);
            else Unhandled(message);
        }

        /// <summary>The next state: a message it does not match is unhandled, as in a ReceiveActor.</summary>
        static void Become(Receive state) => Context.Become(state);

        void Accept(AcceptMessage command)
        {
            var replyTo = Sender;
            _accepted = new MessageAccepted(command.QueueId, command.Envelope, command.Body, _node);
            // An NDR has a fixed id (its message's id and attempt): handed over again after a crash, it
            // may already have been delivered and deleted. Its delivery record says so; it is not sent twice.
            if (command.Envelope.IsBounce && _services.Records is { } records)
            {
                records.GetAsync(command.QueueId).PipeTo(Self, success: r => r is null ? new NotDoneBefore() : new DoneBefore(),
                    failure: e => new Status.Failure(e));
                Become(m =>
                {
                    switch (m)
                    {
                        case AcceptMessage: break;
                        case NotDoneBefore: Store(replyTo); break;
                        case DoneBefore: AlreadyStored(replyTo, "done already"); break;
                        case Status.Failure f: NotStored(replyTo, f.Cause); break;
                        default: return false;
                    }
                    return true;
                });
            }
            else Store(replyTo);
        }

        sealed record NotDoneBefore;
        sealed record DoneBefore;

        void Store(IActorRef replyTo) =>
            Write(1, [new Tagged(_accepted, [QueueTags.Queued])], stored: () =>
            {
                replyTo.Tell(new MessageStored(_accepted.QueueId));
                var e = _accepted.Envelope;
                _log.Info($"{_accepted.QueueId}: accepted tenant={e.Tenant} client={e.ClientHelo ?? "unknown"}[{e.ClientAddress}] from=<{e.Sender}> rcpts={e.Recipients.Count} size={_accepted.Body.Length} " +
                          $"pool={e.Pool} spam-score={e.SpamScore:0.##}{(e.IsBounce ? " (NDR)" : "")}");
                FirstAttempt();
            }, failed: cause => StoredBefore(replyTo, cause));

        /// <summary>
        /// The write failed: the message may be in the journal all the same (a hand-over repeated
        /// after its answer was lost, or an NDR handed over again after a crash). Then it is stored,
        /// and the entity takes it on; asking again would fail the same way for ever.
        /// </summary>
        void StoredBefore(IActorRef replyTo, Exception cause)
        {
            _journal.Tell(new ReplayMessages(0, 0, 0, MessageActor.PersistenceIdOf(_accepted.QueueId), Self));
            Become(m =>
            {
                switch (m)
                {
                    case AcceptMessage: break;
                    case RecoverySuccess { HighestSequenceNr: 0 }: NotStored(replyTo, cause); break;
                    case RecoverySuccess:
                        AlreadyStored(replyTo, "in the journal already");
                        _region.Tell(new WakeMessage(_accepted.QueueId));
                        break;
                    // The circuit breaker refused the write without sending it; any other failure may have
                    // come after the database committed (the connection lost with the answer).
                    case ReplayMessagesFailure: NotStored(replyTo, cause, outcomeUnknown: cause is not Akka.Pattern.OpenCircuitException); break;
                    default: return false;
                }
                return true;
            });
        }

        void AlreadyStored(IActorRef replyTo, string why)
        {
            _log.Info("{0}: handed over again, {1}: not stored twice", _accepted.QueueId, why);
            replyTo.Tell(new MessageStored(_accepted.QueueId));
            Context.Stop(Self);
        }

        void NotStored(IActorRef replyTo, Exception cause, bool outcomeUnknown = false)
        {
            // Ingress logs it with the session; the storage health logs the outage once.
            var why = Describe(cause);
            _log.Debug("{0}: journal write failed: {1}", _accepted.QueueId, why);
            replyTo.Tell(new MessageNotStored(_accepted.QueueId, why));
            if (outcomeUnknown) CheckStoredLater(DateTime.UtcNow);
            else Context.Stop(Self);
        }

        sealed class CheckAgain { public static readonly CheckAgain Instance = new(); }

        /// <summary>
        /// The client was told 451, but the write may have committed all the same. Then the message
        /// is queued, and nobody makes its first attempt: the sweeper would leave it to this node
        /// until the first-attempt grace ran out. Once the journal answers, such a message is handed
        /// to its entity and delivered now (the client may send it again: at-least-once).
        /// </summary>
        void CheckStoredLater(DateTime since, int checks = 0)
        {
            if (DateTime.UtcNow - since > RecordFor) { Context.Stop(Self); return; }
            Context.System.Scheduler.ScheduleTellOnce(Pause(checks), Self, CheckAgain.Instance, Self);
            Become(m =>
            {
                switch (m)
                {
                    case AcceptMessage: break;
                    case CheckAgain: _journal.Tell(new ReplayMessages(0, 0, 0, MessageActor.PersistenceIdOf(_accepted.QueueId), Self)); break;
                    case RecoverySuccess r:
                        if (r.HighestSequenceNr > 0)
                        {
                            _log.Warning("{0}: stored although its client was told 451 (the database's answer was lost); delivering it", _accepted.QueueId);
                            _region.Tell(new WakeMessage(_accepted.QueueId));
                        }
                        Context.Stop(Self);
                        break;
                    case ReplayMessagesFailure: CheckStoredLater(since, checks + 1); break;
                    default: return false;
                }
                return true;
            });
        }

        /// <summary>Pauses between tries while the journal fails: 1, 2, 4, then <see cref="LongestWritePause"/>.</summary>
        static TimeSpan Pause(int failures) => TimeSpan.FromSeconds(Math.Min(LongestWritePause.TotalSeconds, 1 << Math.Min(failures, 5)));

        /// <summary>The failure and what caused it (the journal's circuit breaker wraps the database's error).</summary>
        static string Describe(Exception e) => e.InnerException is { } inner && inner.Message != e.Message ? $"{e.Message} ({inner.Message})" : e.Message;

        void FirstAttempt()
        {
            var e = _accepted.Envelope;
            DeliveryAttempt.Run(_accepted.QueueId, e, _accepted.Body, e.Recipients.Select(r => r.Address), 1, _services).PipeTo(Self);
            Become(m =>
            {
                switch (m)
                {
                    case AcceptMessage a: Sender.Tell(new MessageStored(a.QueueId)); break; // a retried hand-over
                    // The entity waits for the pool (and logs that it does).
                    case DeliveryAttempt.PoolWait: HandOver(); break;
                    // Its entity keeps it waiting for a connection; the PoolWaitStarted has the queue sweeper wake
                    // it on every sweep from now on (not only after the first attempt's grace).
                    case DeliveryAttempt.Finished f when MessageLifecycle.OnlyWaited(f):
                        Write(2, [new Tagged(new PoolWaitStarted(DateTimeOffset.UtcNow), [QueueTags.Attempted])], stored: HandOver, failed: _ => HandOver());
                        break;
                    case DeliveryAttempt.Finished f: Record(f); break;
                    default: return false;
                }
                return true;
            });
        }

        void Record(DeliveryAttempt.Finished finished)
        {
            var e = _accepted.Envelope;
            // The same lifecycle as the entity's, from the same first event.
            var message = new MessageLifecycle(_accepted.QueueId);
            message.Apply(_accepted);
            var recorded = message.AttemptOf(finished, _services.Retry, DateTimeOffset.UtcNow);
            var events = message.EventsOf(recorded);
            foreach (var written in events) message.Apply(written.Payload);
            WriteAttempt(recorded, events, message.WaitsBeyond(_services.ParkBeyond, DateTimeOffset.UtcNow), DateTime.UtcNow);
        }

        sealed class WriteAgain { public static readonly WriteAgain Instance = new(); }

        /// <summary>
        /// How long the intake keeps trying while the journal fails: looking for a message, and writing
        /// answers that a reachable journal keeps refusing (while it is unreachable, for as long as that lasts).
        /// </summary>
        static readonly TimeSpan RecordFor = TimeSpan.FromMinutes(10);

        /// <summary>
        /// Writes the first attempt's answers. While the journal fails (the database is down, the
        /// disk is full), they are written again after a growing pause: a delivery that happened but
        /// is not recorded would be made again. A persistent entity cannot do that for us: it stops
        /// when a write fails, and the answers would be lost with it.
        /// Mail deferred far enough ahead is not handed to its entity then: the entity would recover it
        /// from the journal only to leave memory again, and the queue sweeper wakes it when it is due.
        /// </summary>
        void WriteAttempt(AttemptRecorded recorded, IReadOnlyList<Tagged> events, bool waitsOnDisk, DateTime since, int failures = 0)
        {
            var e = _accepted.Envelope;
            Write(2, events, stored: () =>
            {
                if (failures > 0) _log.Info("{0}: first attempt journaled after {1} failed write(s)", _accepted.QueueId, failures);
                DeliveryAttempt.Report(_log, _accepted.QueueId, e, recorded);
                _services.Events.Attempted(_accepted.QueueId, e, _accepted.Body, recorded);
                if (recorded.Completes || waitsOnDisk) Context.Stop(Self);
                else HandOver();
            }, failed: cause =>
            {
                if (failures == 0)
                    _log.Warning("{0}: could not journal the first attempt ({1}); writing it again until the journal takes it", _accepted.QueueId, Describe(cause));
                // Event 2 may exist after all: then the entity moved on (e.g. an operator held the message) and the answers are not ours to write.
                _journal.Tell(new ReplayMessages(0, 0, 0, MessageActor.PersistenceIdOf(_accepted.QueueId), Self));
                void Later(bool journalAnswers)
                {
                    // Not while the journal is unreachable: the entity could not write them either, and
                    // they would be lost with it (the mail then sent again once storage returns).
                    if (journalAnswers && DateTime.UtcNow - since > RecordFor) { GiveToEntity(recorded, cause); return; }
                    Context.System.Scheduler.ScheduleTellOnce(Pause(failures), Self, WriteAgain.Instance, Self);
                }
                Become(m =>
                {
                    switch (m)
                    {
                        case AcceptMessage a: Sender.Tell(new MessageStored(a.QueueId)); break; // a retried hand-over
                        case RecoverySuccess { HighestSequenceNr: >= 2 }: GiveToEntity(recorded, cause); break;
                        case RecoverySuccess: Later(journalAnswers: true); break;
                        case ReplayMessagesFailure: Later(journalAnswers: false); break;
                        case WriteAgain: WriteAttempt(recorded, events, waitsOnDisk, since, failures + 1); break;
                        default: return false;
                    }
                    return true;
                });
            });
        }

        /// <summary>Written by the entity instead (unless it has moved on, e.g. an operator held the message meanwhile).</summary>
        void GiveToEntity(AttemptRecorded recorded, Exception cause)
        {
            _log.Warning("{0}: could not journal the first attempt ({1}); handing its answers to the message's entity", _accepted.QueueId, Describe(cause));
            _region.Tell(new RecordFirstAttempt(_accepted.QueueId, recorded));
            Context.Stop(Self);
        }

        /// <summary>Retries, NDRs and waiting for a pool are the entity's work.</summary>
        void HandOver()
        {
            _region.Tell(new WakeMessage(_accepted.QueueId, JustAccepted: true));
            Context.Stop(Self);
        }

        /// <summary>Writes the events from <paramref name="sequenceNr"/> on in one atomic write.</summary>
        void Write(long sequenceNr, IReadOnlyList<Tagged> events, Action stored, Action<Exception> failed)
        {
            var writer = Guid.NewGuid().ToString();
            var persistents = events.Select((e, i) => (IPersistentRepresentation)new Persistent(e, sequenceNr + i,
                MessageActor.PersistenceIdOf(_accepted.QueueId), writerGuid: writer, timestamp: DateTime.UtcNow.Ticks)).ToImmutableList();
            _journal.Tell(new WriteMessages([new AtomicWrite(persistents)], Self, 1));
            // The journal answers each event (all of an atomic write succeed or fail together): acting on
            // the last answer, none arrives after this actor has moved on or stopped (as a dead letter).
            var answers = 0;
            void Last(Action action) { if (++answers == persistents.Count) action(); }
            Become(m =>
            {
                switch (m)
                {
                    case AcceptMessage: break; // a retried hand-over while the write runs: the first one gets the answer
                    case WriteMessagesSuccessful or WriteMessagesFailed: break;
                    case WriteMessageSuccess: Last(stored); break;
                    case WriteMessageRejected r: Last(() => failed(r.Cause)); break;
                    case WriteMessageFailure f: Last(() => failed(f.Cause)); break;
                    default: return false;
                }
                return true;
            });
        }
    }
}
