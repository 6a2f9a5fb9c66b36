using ActorGateway.Node.Pipeline;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorGateway.Node.Queue;

/// <summary>
/// Postfix's qmgr scan, for the whole cluster (one instance, a cluster singleton): reads
/// the journal's tags to know which messages are still queued and when each is due, and
/// wakes the due ones through sharding, on whichever node their shard now lives. This is
/// what resumes the queue after a restart or after a node died mid-delivery.
/// </summary>
public sealed class QueueSweeper : ReceiveActor, IWithTimers
{
    sealed class Sweep { public static readonly Sweep Instance = new(); }
    sealed record SweepRead(IReadOnlyList<EventEnvelope> Queued, IReadOnlyList<EventEnvelope> Attempted, IReadOnlyList<EventEnvelope> Done);

    readonly IActorRef _region;
    readonly TimeSpan _interval;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly Dictionary<string, DateTimeOffset?> _pending = new();
    long _queuedOffset, _attemptedOffset, _doneOffset;
    bool _sweeping, _sweepAgain;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region, TimeSpan interval) => Akka.Actor.Props.Create(() => new QueueSweeper(region, interval));

    public QueueSweeper(IActorRef region, TimeSpan interval)
    {
        _region = region; _interval = interval;
        Receive<Sweep>(_ => StartSweep());
        Receive<SweepRead>(Apply);
        Receive<Status.Failure>(f => { _sweeping = false; _log.Warning("queue sweep failed: {0}", f.Cause.Message); });
        Receive<MessageIsDone>(d => _pending.Remove(d.QueueId));
        // A member gone: its messages' shards move on the next wake, so wake them now, not at the next interval.
        Receive<Akka.Cluster.ClusterEvent.MemberRemoved>(e =>
        {
            _log.Info("queue: member {0} removed, sweeping now to resume its messages elsewhere", e.Member.Address);
            StartSweep();
        });
    }

    protected override void PreStart()
    {
        _log.Info("queue sweeper running on {0}", Akka.Cluster.Cluster.Get(Context.System).SelfAddress);
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, Akka.Cluster.ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(Akka.Cluster.ClusterEvent.MemberRemoved));
        Self.Tell(Sweep.Instance);
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, _interval);
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    void StartSweep()
    {
        if (_sweeping) { _sweepAgain = true; return; }
        _sweeping = true;
        var journal = PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var materializer = Context.System.Materializer();
        async Task<IReadOnlyList<EventEnvelope>> Read(string tag, long from) =>
            await journal.CurrentEventsByTag(tag, Offset.Sequence(from)).RunWith(Sink.Seq<EventEnvelope>(), materializer);
        var (q, a, d) = (_queuedOffset, _attemptedOffset, _doneOffset);
        // Read in journal order of the tags: queued before attempted before done.
        Task.Run(async () => new SweepRead(await Read(QueueTags.Queued, q), await Read(QueueTags.Attempted, a), await Read(QueueTags.Done, d)))
            .PipeTo(Self);
    }

    void Apply(SweepRead read)
    {
        foreach (var e in read.Queued) { _queuedOffset = Math.Max(_queuedOffset, ((Sequence)e.Offset).Value); if (e.Event is MessageAccepted m) _pending.TryAdd(m.QueueId, null); }
        foreach (var e in read.Attempted)
        {
            _attemptedOffset = Math.Max(_attemptedOffset, ((Sequence)e.Offset).Value);
            var id = e.PersistenceId["msg-".Length..];
            if (e.Event is AttemptRecorded r && _pending.ContainsKey(id)) _pending[id] = r.NextAttemptAt;
        }
        foreach (var e in read.Done) { _doneOffset = Math.Max(_doneOffset, ((Sequence)e.Offset).Value); _pending.Remove(e.PersistenceId["msg-".Length..]); }
        _sweeping = false;
        if (_sweepAgain) { _sweepAgain = false; Self.Tell(Sweep.Instance); }

        var horizon = DateTimeOffset.UtcNow + _interval;
        var woken = 0;
        foreach (var (id, next) in _pending)
            if (next is null || next <= horizon) { _region.Tell(new WakeMessage(id)); woken++; }
        if (woken > 0 || read.Queued.Count > 0)
            _log.Info("queue: {0} message(s) pending, {1} woken", _pending.Count, woken);
    }
}
