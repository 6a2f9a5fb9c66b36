using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Retention;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorGateway.Node.Queue;

/// <summary>
/// Postfix's qmgr scan, for the whole cluster (one instance, a cluster singleton): reads
/// the journal's tags (QueueJournalReader) to know which messages are still queued and when each is due, and
/// wakes the due ones through sharding, on whichever node their shard now lives. This is
/// what resumes the queue after a restart or after a node died mid-delivery.
/// Its own progress is checkpointed, so that a sweeper that starts on another node after a
/// failover reads only what was written since the last checkpoint instead of the queue's whole
/// history: the journal offset as a snapshot, the pending set in its own table
/// (PendingQueueStore), where each checkpoint writes only what changed since the one before.
/// Journal orderings are handed out before commit (PostgreSQL with several writers), so an
/// event can become visible after a later one was already read. So that no such event is
/// skipped for good, every reconcile interval a sweep reads again from where the sweeps were
/// one interval earlier, and checkpoints keep offsets that lag behind by the same margin.
/// Reading an event twice changes nothing.
/// New mail's first attempt is made by the node that accepted it (MessageIntake). The sweeper
/// leaves such mail alone while that node incarnation is a member and the attempt could still
/// be running; once the node is gone (removed, or restarted with a new uid), it wakes the
/// mail at once.
/// It is also what takes completed messages out of the store, as Postfix's qmgr deletes a
/// queue file: each sweep stores the delivery records that the done events carry and deletes
/// those messages' journals (DeliveryRecordStore), before its offsets move past them. A crash
/// in between only means that the next sweeper reads those done events again. It sweeps every
/// delete interval, so that each deletion is small (new mail's acceptance waits behind it in the
/// database), and wakes due mail every sweep interval (each wake is a message to every waiting
/// entity, wherever its shard lives). Every retention interval it removes the records that are
/// past their retention.
/// Mail that waits on destinations its last attempt found paused is deferred here, without
/// waking it, while those pauses last (<see cref="PausedDestinations"/>).
/// </summary>
public sealed class QueueSweeper : ReceivePersistentActor, IWithTimers
{
    sealed class Sweep { public static readonly Sweep Instance = new(); }
    // The periodic sweep: it reads and deletes what completed every delete interval, and wakes due
    // mail only once a sweep interval has passed since the last wake.
    sealed class Tick { public static readonly Tick Instance = new(); }
    sealed class Prune { public static readonly Prune Instance = new(); }
    sealed record Pruned(int Records, string? Error = null);
    sealed record SweepRead(QueueEvents Read, int Deleted);
    sealed record PendingLoaded(IReadOnlyList<PendingEntry> Entries);
    sealed record PendingSaved(long Offset, string[] Written, string[] Removed, string? Error = null);
    // Events per sweep at most, so that a sweeper behind a long backlog holds a bounded part of it; the rest follows at once.
    const int EventsPerSweep = 50_000;

    readonly IActorRef _region;
    readonly QueueJournalReader _journal;
    readonly PendingQueueStore _store;
    // Ids whose entry changed since the last checkpoint, and the ids the table holds.
    readonly HashSet<string> _dirty = new(StringComparer.Ordinal), _stored = new(StringComparer.Ordinal);
    bool _saving;
    readonly ActiveQueue _active;
    readonly PausedDestinations _paused;
    readonly DeliveryRecordStore? _records;
    readonly RetentionSettings _retention;
    volatile bool _journalIndexed;
    bool _pruning;
    readonly TimeSpan _interval, _tick, _checkpointInterval;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly Dictionary<string, DateTimeOffset?> _pending = new();
    // When each pending message was received, for the queue's age.
    readonly Dictionary<string, DateTimeOffset> _received = new();
    // Pending mail without an attempt yet, and the node incarnation that makes its first one.
    readonly Dictionary<string, string> _acceptedBy = new();
    // How long after its receipt new mail is left to its first attempt; at least this long also
    // when its node is not (yet) seen as a member: a node can accept mail while it is joining.
    readonly TimeSpan _firstAttemptGrace;
    static readonly TimeSpan JoiningGrace = TimeSpan.FromSeconds(10), RefillDelay = TimeSpan.FromSeconds(1);
    // When a sweep last failed to read the journal (see FirstAttemptDeadline). A new sweeper counts
    // its start as one: it may have started because storage failed.
    DateTimeOffset? _storageFailedAt = DateTimeOffset.UtcNow;
    long _offset;
    // Where the last sweep started: the next one reads from there again (see StartSweep).
    long _lastSweepFrom;
    bool _sweeping, _sweepAgain, _wakeThisSweep, _wakeAgain, _changedSinceCheckpoint;
    DateTime _lastWake;
    DateTime _lastCheckpoint = DateTime.UtcNow, _lastReconcile = DateTime.UtcNow;
    static readonly TimeSpan ReconcileInterval = TimeSpan.FromSeconds(60), CheckpointLag = TimeSpan.FromSeconds(10);
    // Offsets after each sweep, oldest first, kept for one reconcile interval.
    readonly Queue<(DateTime At, long Offset)> _history = new();

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId => "queue-sweeper";

    /// <param name="firstAttemptTimeout">The longest a first attempt can take (the delivery ask's timeout).</param>
    /// <param name="records">Where completed messages go; null: they stay in the journal (tests of the sweeping alone).</param>
    /// <param name="activeLimit">How many woken messages may be in their attempt at once (gateway.queue.active-limit).</param>
    /// <param name="retry">The retry schedule, for mail deferred here while its destinations are paused.</param>
    /// <param name="deleteInterval">How often completed messages are deleted (gateway.queue.delete-interval); at most <paramref name="interval"/>, which it is when null.</param>
    public static Props Props(IActorRef region, QueueJournalReader journal, PendingQueueStore store, TimeSpan interval, TimeSpan firstAttemptTimeout,
        DeliveryRecordStore? records = null, RetentionSettings? retention = null, int activeLimit = DefaultActiveLimit, RetrySchedule? retry = null,
        TimeSpan? deleteInterval = null) =>
        Akka.Actor.Props.Create(() => new QueueSweeper(region, journal, store, interval, firstAttemptTimeout, records, retention ?? RetentionSettings.Default, activeLimit,
            retry ?? RetrySchedule.Default, deleteInterval ?? interval));

    public const int DefaultActiveLimit = 5000;

    public QueueSweeper(IActorRef region, QueueJournalReader journal, PendingQueueStore store, TimeSpan interval, TimeSpan firstAttemptTimeout,
        DeliveryRecordStore? records, RetentionSettings retention, int activeLimit, RetrySchedule retry, TimeSpan deleteInterval)
    {
        _paused = new PausedDestinations(retry);
        _region = region; _journal = journal; _store = store; _interval = interval; _records = records; _retention = retention;
        _tick = deleteInterval < interval ? deleteInterval : interval;
        _firstAttemptGrace = firstAttemptTimeout + TimeSpan.FromSeconds(30);
        _active = new ActiveQueue(activeLimit, _firstAttemptGrace);
        _checkpointInterval = TimeSpan.FromTicks(Math.Max(interval.Ticks, TimeSpan.FromSeconds(5).Ticks));

        Recover<SnapshotOffer>(o =>
        {
            if (o.Snapshot is not QueueCheckpoint c) return;
            // Checkpoints from when each tag was read on its own hold three offsets: the lowest re-reads, which is harmless.
            _offset = Math.Min(c.QueuedOffset, Math.Min(c.AttemptedOffset, c.DoneOffset));
            _lastSweepFrom = _offset;
            // Checkpoints from before the pending table carry the set itself: it goes into the table at the next checkpoint.
            foreach (var (id, next) in c.Pending) { _pending[id] = next; _dirty.Add(id); }
            foreach (var (id, at) in c.Received ?? new Dictionary<string, DateTimeOffset>()) _received[id] = at;
            foreach (var (id, node) in c.AcceptedBy ?? new Dictionary<string, string>()) _acceptedBy[id] = node;
        });
        Recover<QueueCheckpointTaken>(_ => { });
        Recover<RecoveryCompleted>(_ => _store.LoadAsync().PipeTo(Self, success: e => new PendingLoaded(e)));

        // Until the pending set is loaded nothing else is handled: a done message must not be
        // taken out of the set before the load puts it back in.
        Command<PendingLoaded>(loaded =>
        {
            foreach (var e in loaded.Entries)
            {
                _stored.Add(e.QueueId);
                if (!_pending.TryAdd(e.QueueId, e.Next)) continue;
                if (e.Received is { } at) _received[e.QueueId] = at;
                if (e.AcceptedBy is { } node) _acceptedBy[e.QueueId] = node;
            }
            _log.Info("queue sweeper running on {0}, from checkpoint: {1} message(s) pending", Akka.Cluster.Cluster.Get(Context.System).SelfAddress, _pending.Count);
            Become(Running);
            Stash.UnstashAll();
            // What the checkpoint knows is woken at once; the read of what came after it follows.
            WakeDue();
            Self.Tell(Sweep.Instance);
            Timers.StartPeriodicTimer("sweep", Tick.Instance, _tick);
            if (_records is not null) Timers.StartPeriodicTimer("retention", Prune.Instance, _retention.Interval);
        });
        Command<Status.Failure>(f =>
        {
            // Stopped, the supervisor starts it again after a pause (storage may be failing).
            _log.Warning("queue: the pending set could not be loaded: {0}", f.Cause.Message);
            Context.Stop(Self);
        });
        CommandAny(_ => Stash.Stash());
    }

    void Running()
    {
        Command<Sweep>(_ => StartSweep(wake: true));
        // Half a tick early counts: the tick that comes about one interval after the last wake wakes.
        Command<Tick>(_ => StartSweep(wake: DateTime.UtcNow - _lastWake >= _interval - _tick / 2));
        Command<Prune>(_ =>
        {
            if (_pruning || _records is null) return; // the record tables exist from start-up on
            _pruning = true;
            _records.PruneAsync(DateTimeOffset.UtcNow - _retention.DeliveryRecords).PipeTo(Self, success: n => new Pruned(n), failure: e => new Pruned(0, e.Message));
        });
        Command<Pruned>(p =>
        {
            _pruning = false;
            if (p.Error is not null) _log.Warning("retention pass failed (tried again in {0}): {1}", _retention.Interval, p.Error);
            else if (p.Records > 0) _log.Info("retention: {0} delivery record(s) older than {1} removed", p.Records, _retention.DeliveryRecords);
        });
        Command<SweepRead>(Apply);
        Command<Status.Failure>(f =>
        {
            _sweeping = false;
            _storageFailedAt = DateTimeOffset.UtcNow;
            _log.Warning("queue sweep failed: {0}", f.Cause.Message);
        });
        Command<GetPendingMessages>(g =>
        {
            var shown = g.QueueId is { } one
                ? (_pending.TryGetValue(one, out var next) ? new Dictionary<string, DateTimeOffset?> { [one] = next } : new())
                : g.Limit is { } limit
                ? _pending.OrderBy(p => p.Key, StringComparer.Ordinal).Take(Math.Max(0, limit)).ToDictionary()
                : new Dictionary<string, DateTimeOffset?>(_pending);
            var due = _pending.Values.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty().Min();
            var now = DateTimeOffset.UtcNow;
            Sender.Tell(new PendingMessages(shown, now, _received.Count == 0 ? null : _received.Values.Min(), _pending.Count,
                due == default ? null : due, _paused.Current(now)));
        });
        Command<MessageIsDone>(d =>
        {
            if (_pending.Remove(d.QueueId)) _dirty.Add(d.QueueId);
            _received.Remove(d.QueueId); _acceptedBy.Remove(d.QueueId); _active.Returned(d.QueueId); _paused.Forget(d.QueueId);
        });
        // A member gone: its messages' shards move on the next wake, so wake them now, not at the next interval.
        Command<Akka.Cluster.ClusterEvent.MemberRemoved>(e =>
        {
            _log.Info("queue: member {0} removed, sweeping now to resume its messages elsewhere", e.Member.Address);
            _active.Clear();
            StartSweep(wake: true);
        });
        Command<Akka.Cluster.ClusterEvent.CurrentClusterState>(_ => { });
        Command<PendingSaved>(Saved);
        Command<SaveSnapshotSuccess>(s =>
        {
            // Only the newest checkpoint is needed.
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("queue: checkpoint failed: {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    protected override void PreStart()
    {
        base.PreStart();
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, Akka.Cluster.ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(Akka.Cluster.ClusterEvent.MemberRemoved));
    }

    protected override void PostStop()
    {
        Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        base.PostStop();
    }

    void StartSweep(bool wake)
    {
        if (_sweeping) { _sweepAgain = true; _wakeAgain |= wake; return; }
        _sweeping = true;
        _wakeThisSweep = wake;
        if (wake) _lastWake = DateTime.UtcNow;
        // Every sweep reads again what the one before read: an event that committed after a later
        // one was read (PostgreSQL, several writers) is seen one sweep late rather than at the
        // next reconcile. Done messages are deleted by then, so what is read twice is small.
        var from = Math.Min(_offset, _lastSweepFrom);
        _lastSweepFrom = _offset;
        if (DateTime.UtcNow - _lastReconcile >= ReconcileInterval && _history.Count > 0)
        {
            from = _history.Peek().Offset;
            _lastReconcile = DateTime.UtcNow;
        }
        var (journal, records, serialization) = (_journal, _records, Context.System.Serialization);
        Task.Run(async () =>
        {
            var read = new SweepRead(await journal.ReadAfterAsync(from, EventsPerSweep, serialization), 0);
            if (records is null) return read;
            if (!_journalIndexed)
            {
                await records.IndexJournalAsync();
                _journalIndexed = true;
            }
            // Before the offset moves past them: a sweep that fails here reads them again.
            var completed = read.Read.Events.Where(e => e.Tag == QueueTags.Done && e.Event is MessageCompleted or AttemptRecorded).DistinctBy(e => e.PersistenceId)
                .Select(e => (e.PersistenceId, (e.Event as MessageCompleted)?.Record)).ToArray();
            await records.CompleteAsync(completed);
            return read with { Deleted = completed.Length };
        }).PipeTo(Self);
    }

    void Apply(SweepRead sweep)
    {
        // In journal order: a message's accepted event comes before its attempts and its done event.
        var queued = 0;
        foreach (var e in sweep.Read.Events)
        {
            _offset = Math.Max(_offset, e.Ordering);
            var id = MessageActor.QueueIdOf(e.PersistenceId);
            switch (e.Tag)
            {
                case QueueTags.Queued when e.Event is QueuedHead m:
                    queued++;
                    if (m.AcceptedBy is null)
                    {
                        if (_pending.TryAdd(m.QueueId, null)) { _received[m.QueueId] = m.Envelope.ReceivedAt; _dirty.Add(m.QueueId); }
                    }
                    else if (_pending.TryAdd(m.QueueId, m.Envelope.ReceivedAt + _firstAttemptGrace))
                    {
                        _received[m.QueueId] = m.Envelope.ReceivedAt;
                        _acceptedBy[m.QueueId] = m.AcceptedBy;
                        _dirty.Add(m.QueueId);
                    }
                    break;
                case QueueTags.Attempted:
                    if (e.Event is AttemptRecorded r)
                    {
                        if (_pending.ContainsKey(id))
                        {
                            _pending[id] = r.NextAttemptAt;
                            _paused.Attempted(id, r);
                        }
                        _active.Returned(id);
                    }
                    if (e.Event is PoolWaitStarted)
                    {
                        if (_pending.ContainsKey(id)) _pending[id] = null;
                        _active.Returned(id);
                        _paused.Forget(id);
                    }
                    _acceptedBy.Remove(id);
                    if (_pending.ContainsKey(id)) _dirty.Add(id);
                    break;
                case QueueTags.Done:
                    _active.Returned(id);
                    _paused.Forget(id);
                    if (_pending.Remove(id)) _dirty.Add(id);
                    _received.Remove(id);
                    _acceptedBy.Remove(id);
                    break;
            }
        }
        _sweeping = false;
        // A backlog read in pieces goes on where this piece ended.
        if (sweep.Read.More) _lastSweepFrom = _offset;
        _changedSinceCheckpoint |= sweep.Read.Events.Count > 0;
        var now = DateTime.UtcNow;
        _history.Enqueue((now, _offset));
        while (_history.Count > 1 && now - _history.Peek().At > ReconcileInterval) _history.Dequeue();
        if (_sweepAgain || sweep.Read.More) { Self.Tell(_wakeAgain || sweep.Read.More ? Sweep.Instance : Tick.Instance); _sweepAgain = _wakeAgain = false; }

        var woken = _wakeThisSweep ? WakeDue() : 0;
        if (woken > 0 || queued > 0 || sweep.Deleted > 0)
            _log.Info("queue: {0} message(s) pending, {1} woken, {2} completed deleted", _pending.Count, woken, sweep.Deleted);
        Checkpoint();
    }

    /// <summary>
    /// Wakes the pending messages due before the next sweep, and new mail whose accepting node
    /// is gone or past its <see cref="FirstAttemptDeadline"/>, as far as the active queue has room;
    /// a message that is already busy ignores it.
    /// </summary>
    int WakeDue()
    {
        var now = DateTimeOffset.UtcNow;
        var horizon = now + _interval;
        var members = Akka.Cluster.Cluster.Get(Context.System).State.Members
            .Where(m => m.Status != Akka.Cluster.MemberStatus.Down && m.Status != Akka.Cluster.MemberStatus.Removed)
            .Select(m => m.UniqueAddress).ToArray();
        // Once per sweep, not once per pending message.
        var incarnations = members.Select(MessageIntake.NodeOf).ToHashSet(StringComparer.Ordinal);
        var addresses = members.Select(m => m.Address + "#").ToArray();
        bool Gone(string node, string id)
        {
            if (incarnations.Contains(node)) return false;
            // Its address has a new incarnation: it restarted. Else it may still be joining.
            return addresses.Any(a => node.StartsWith(a, StringComparison.Ordinal))
                   || !_received.TryGetValue(id, out var received) || now - received > JoiningGrace;
        }
        // Mail waiting for its pool or for a connection (no due time) is woken on every sweep, outside
        // the active queue: its wait has no end the sweeper would read, and the wakes are what bring
        // its entity back after it was passivated.
        var waiting = _pending.Where(p => p.Value is null).Select(p => p.Key).ToArray();
        foreach (var id in waiting) _region.Tell(new WakeMessage(id));
        // Mail due while every destination it waits on is paused is deferred here instead (after the enumeration).
        var heldBack = new List<(string Id, DateTimeOffset Next)>();
        var due = _pending.Where(p => p.Value is { } next && (_acceptedBy.TryGetValue(p.Key, out var node)
                ? Gone(node, p.Key) || FirstAttemptDeadline.Passed(next, _storageFailedAt, now, horizon)
                : next <= horizon && !HeldBack(p.Key, next)))
            .Select(p => (p.Key, p.Value!.Value));
        bool HeldBack(string id, DateTimeOffset next)
        {
            if (_paused.HoldBack(id, _received.TryGetValue(id, out var received) ? received : null, next, now) is not { } later) return false;
            heldBack.Add((id, later));
            return true;
        }
        var woken = _active.Admit(due, now, out var more);
        foreach (var id in woken) _region.Tell(new WakeMessage(id));
        // Places free up as attempts end: look again soon rather than at the next interval.
        if (more) Timers.StartSingleTimer("refill", Sweep.Instance, RefillDelay);
        if (heldBack.Count > 0)
        {
            foreach (var (id, later) in heldBack)
            {
                _pending[id] = later;
                _dirty.Add(id);
                _log.Info("{0}: deferred without an attempt, paused: {1}; next={2:O}", id, _paused.WaitsOn(id), later);
            }
            _log.Info("queue: {0} message(s) deferred without an attempt, their destinations paused: {1}", heldBack.Count,
                string.Join(", ", _paused.Current(now).Take(5).Select(p => $"{p.Domain} ({p.Pool}) until {p.Until:HH:mm:ss}")));
        }
        return waiting.Length + woken.Count;
    }

    /// <summary>
    /// Writes what changed in the pending set since the last checkpoint to its table, then the
    /// offset as a snapshot. The offset is from at least CheckpointLag ago (events committed late
    /// are read again), the table as of now; reading an event again changes nothing, and the
    /// table is written before the snapshot, so a crash in between only means a longer re-read.
    /// </summary>
    void Checkpoint()
    {
        if (_saving || (!_changedSinceCheckpoint && _dirty.Count == 0) || DateTime.UtcNow - _lastCheckpoint < _checkpointInterval) return;
        _changedSinceCheckpoint = false;
        _lastCheckpoint = DateTime.UtcNow;
        var lagged = _history.LastOrDefault(h => DateTime.UtcNow - h.At >= CheckpointLag);
        if (lagged.At == default) lagged = _history.Peek();
        // Mail that came and went between two checkpoints never reaches the table.
        var written = _dirty.Where(_pending.ContainsKey).ToArray();
        var removed = _dirty.Where(id => !_pending.ContainsKey(id) && _stored.Contains(id)).ToArray();
        _dirty.Clear();
        var entries = written.Select(id => new PendingEntry(id, _pending[id], _received.TryGetValue(id, out var at) ? at : null, _acceptedBy.GetValueOrDefault(id))).ToArray();
        _saving = true;
        var offset = lagged.Offset;
        _store.SaveAsync(entries, removed).PipeTo(Self, success: () => new PendingSaved(offset, written, removed),
            failure: e => new PendingSaved(offset, written, removed, e.Message));
    }

    void Saved(PendingSaved saved)
    {
        _saving = false;
        if (saved.Error is not null)
        {
            _log.Warning("queue: checkpoint failed (tried again at the next sweep): {0}", saved.Error);
            _dirty.UnionWith(saved.Written);
            _dirty.UnionWith(saved.Removed);
            _changedSinceCheckpoint = true;
            return;
        }
        _stored.UnionWith(saved.Written);
        _stored.ExceptWith(saved.Removed);
        var checkpoint = new QueueCheckpoint(saved.Offset, saved.Offset, saved.Offset, new Dictionary<string, DateTimeOffset?>());
        // A small event first, so that each snapshot has a sequence number of its own.
        Persist(new QueueCheckpointTaken(DateTimeOffset.UtcNow), _ => SaveSnapshot(checkpoint));
    }
}
