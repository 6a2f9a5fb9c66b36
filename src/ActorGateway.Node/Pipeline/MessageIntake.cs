using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorGateway.Node.Pipeline;

/// <summary>
/// Where an accepted message enters the queue, on the node that received it (Postfix's
/// cleanup writing the queue file). One child per message writes its first journal event,
/// MessageAccepted, and answers; only then does the client get its 250. The message's
/// sharded entity takes over from that journal when it is woken, wherever its shard lives.
/// Acceptance thus needs only the local node and the database: it goes on while a dead
/// node's shards are still moving, and the body does not cross the network to be stored.
/// </summary>
public sealed class MessageIntake : ReceiveActor
{
    public static Props Props(Func<IActorRef> region) => Akka.Actor.Props.Create(() => new MessageIntake(region));

    public MessageIntake(Func<IActorRef> region)
    {
        Receive<AcceptMessage>(command =>
        {
            var writer = Context.Child(command.QueueId);
            if (writer.IsNobody()) writer = Context.ActorOf(Writer.Props(command, region()), command.QueueId);
            writer.Forward(command);
        });
    }

    // A writer that fails is not restarted: the requester hears MessageNotStored or times out.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>Writes one message's acceptance, replies, wakes the message's entity, and stops.</summary>
    sealed class Writer : ReceivePersistentActor
    {
        readonly AcceptMessage _command;
        readonly IActorRef _region;
        readonly ILoggingAdapter _log = Context.GetLogger();
        IActorRef? _replyTo;

        public static Props Props(AcceptMessage command, IActorRef region) => Akka.Actor.Props.Create(() => new Writer(command, region));

        public override string PersistenceId => MessageActor.PersistenceIdOf(_command.QueueId);

        // A new queue id has no journal yet: nothing to read before the first write. (Should
        // the id exist after all, the write fails on its sequence number: no 250.)
        public override Recovery Recovery => Recovery.None;

        public Writer(AcceptMessage command, IActorRef region)
        {
            _command = command;
            _region = region;
            SnapshotPluginId = "akka.persistence.no-snapshot-store";
            Command<AcceptMessage>(Write);
        }

        void Write(AcceptMessage command)
        {
            if (_replyTo is not null) return; // a retried hand-over while the write is running
            _replyTo = Sender;
            var accepted = new MessageAccepted(command.QueueId, command.Envelope, command.Body);
            Persist(new Tagged(accepted, [QueueTags.Queued]), _ =>
            {
                _replyTo.Tell(new MessageStored(command.QueueId));
                var e = accepted.Envelope;
                _log.Info($"{command.QueueId}: accepted tenant={e.Tenant} from=<{e.Sender}> rcpts={e.Recipients.Count} size={accepted.Body.Length} " +
                          $"pool={e.Pool} spam-score={e.SpamScore:0.##}{(e.IsBounce ? " (NDR)" : "")}");
                _region.Tell(new WakeMessage(command.QueueId, JustAccepted: true));
                Context.Stop(Self);
            });
        }

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _log.Error(cause, "{0}: journal write failed", _command.QueueId);
            _replyTo?.Tell(new MessageNotStored(_command.QueueId, cause.Message));
            base.OnPersistFailure(cause, @event, sequenceNr);
        }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
        {
            _log.Error(cause, "{0}: journal rejected the message", _command.QueueId);
            _replyTo?.Tell(new MessageNotStored(_command.QueueId, cause.Message));
            base.OnPersistRejected(cause, @event, sequenceNr);
        }
    }
}
