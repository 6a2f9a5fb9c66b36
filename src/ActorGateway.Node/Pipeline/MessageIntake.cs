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

    /// <summary>
    /// Writes one message's acceptance as event 1 of its journal, replies, wakes the message's
    /// entity, and stops. It talks to the journal directly: a new queue id has no events to
    /// recover (a persistent actor would still ask for the highest sequence number first, one
    /// more database round trip per message). Should the id exist after all, the write fails
    /// on its sequence number: no 250.
    /// </summary>
    sealed class Writer : ReceiveActor
    {
        readonly IActorRef _region;
        readonly ILoggingAdapter _log = Context.GetLogger();
        IActorRef? _replyTo;
        MessageAccepted? _accepted;

        public static Props Props(AcceptMessage command, IActorRef region) => Akka.Actor.Props.Create(() => new Writer(region));

        public Writer(IActorRef region)
        {
            _region = region;
            Receive<AcceptMessage>(Write);
            Receive<WriteMessagesSuccessful>(_ => { });
            Receive<WriteMessageSuccess>(_ => Stored());
            Receive<WriteMessageRejected>(r => Failed(r.Cause));
            Receive<WriteMessageFailure>(f => Failed(f.Cause));
            Receive<WriteMessagesFailed>(f => Failed(f.Cause));
        }

        void Write(AcceptMessage command)
        {
            if (_replyTo is not null) return; // a retried hand-over while the write is running
            _replyTo = Sender;
            _accepted = new MessageAccepted(command.QueueId, command.Envelope, command.Body);
            var persistent = new Persistent(new Tagged(_accepted, [QueueTags.Queued]), 1, MessageActor.PersistenceIdOf(command.QueueId),
                writerGuid: Guid.NewGuid().ToString(), timestamp: DateTime.UtcNow.Ticks);
            Persistence.Instance.Apply(Context.System).JournalFor(null)
                .Tell(new WriteMessages([new AtomicWrite(persistent)], Self, 1));
        }

        void Stored()
        {
            var a = _accepted!;
            _replyTo!.Tell(new MessageStored(a.QueueId));
            var e = a.Envelope;
            _log.Info($"{a.QueueId}: accepted tenant={e.Tenant} from=<{e.Sender}> rcpts={e.Recipients.Count} size={a.Body.Length} " +
                      $"pool={e.Pool} spam-score={e.SpamScore:0.##}{(e.IsBounce ? " (NDR)" : "")}");
            _region.Tell(new WakeMessage(a.QueueId, JustAccepted: true));
            Context.Stop(Self);
        }

        void Failed(Exception cause)
        {
            _log.Error(cause, "{0}: journal write failed", _accepted?.QueueId);
            _replyTo?.Tell(new MessageNotStored(_accepted?.QueueId ?? "", cause.Message));
            Context.Stop(Self);
        }
    }
}
