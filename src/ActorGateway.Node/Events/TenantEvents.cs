using ActorGateway.Mail.Events;
using ActorGateway.Mail.Tenants;
using ActorGateway.Node.Operations;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;

namespace ActorGateway.Node.Events;

/// <summary>
/// One tenant's queue of delivery events for its webhook: a sharded, persistent entity, so that
/// an event is journaled before it counts as queued and whichever node runs the queue after a
/// restart or failover sends what is pending. Events go out one at a time, in order, each until
/// the receiver answers 2xx (at least once: a receiver may see an event again, with the same id);
/// after a failure the head waits with exponential back-off, and an event past its maximum age
/// is given up. Sent and given-up events leave the journal: a snapshot of what is pending
/// replaces the rows before it every <see cref="SnapshotEvery"/> finished events.
/// </summary>
public sealed class TenantEvents : ReceivePersistentActor, IWithTimers
{
    public const string RegionName = "tenant-events";
    const int SnapshotEvery = 50;

    sealed class RetryDue { public static readonly RetryDue Instance = new(); }

    readonly string _tenant;
    readonly Func<TenantDirectory> _tenants;
    readonly WebhookPoster _poster;
    readonly WebhookBackoff _backoff;
    readonly ILoggingAdapter _log = Context.GetLogger();
    readonly List<DeliveryEvent> _pending = [];
    readonly HashSet<string> _pendingIds = [];
    // Not journaled: what this incarnation is doing.
    bool _posting;
    int _failures, _sinceSnapshot;

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId => "events-" + _tenant;

    public static Props Props(string tenant, Func<TenantDirectory> tenants, WebhookPoster poster, WebhookBackoff backoff) =>
        Akka.Actor.Props.Create(() => new TenantEvents(tenant, tenants, poster, backoff));

    public TenantEvents(string tenant, Func<TenantDirectory> tenants, WebhookPoster poster, WebhookBackoff backoff)
    {
        _tenant = tenant;
        _tenants = tenants;
        _poster = poster;
        _backoff = backoff;

        Recover<SnapshotOffer>(o => { if (o.Snapshot is PendingEvents s) foreach (var e in s.Events) Add(e); });
        Recover<EventQueued>(e => Add(e.Event));
        Recover<EventSent>(e => Remove(e.Id));
        Recover<EventDropped>(e => Remove(e.Id));
        Recover<RecoveryCompleted>(_ =>
        {
            ShowPending();
            if (_pending.Count > 0)
                _log.Info("webhook events {0}: {1} pending on {2}", _tenant, _pending.Count, Akka.Cluster.Cluster.Get(Context.System).SelfAddress);
            SendNext();
        });

        Command<EmitEvent>(Queue);
        Command<WakeTenantEvents>(_ => SendNext());
        Command<RetryDue>(_ => SendNext());
        Command<WebhookPoster.Result>(Answered);
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning("webhook events {0}: snapshot failed: {1}", _tenant, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("webhook events {0}: pruning the journal failed: {1}", _tenant, f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    void Queue(EmitEvent emit)
    {
        // The same event emitted twice (its id is derived from what it reports) is queued once.
        if (_pendingIds.Contains(emit.Event.Id)) return;
        // PersistAsync: emitting never waits for an earlier event's write; their order is kept.
        PersistAsync(new EventQueued(emit.Event), e =>
        {
            Add(e.Event);
            ShowPending();
            SendNext();
        });
    }

    /// <summary>Posts the oldest pending event, unless a post runs or the back-off timer waits.</summary>
    void SendNext()
    {
        if (_posting || _pending.Count == 0 || Timers.IsTimerActive("retry")) return;
        var head = _pending[0];
        // Busy until the head is journaled as done: an earlier event's queued-handler runs in between and must not post it again.
        _posting = true;
        if (_tenants().All.FirstOrDefault(t => t.Id == _tenant)?.Webhook is not { } webhook)
        {
            Finish(new EventDropped(head.Id, "the tenant has no webhook any more"));
            return;
        }
        _poster.PostAsync(webhook, head).PipeTo(Self);
    }

    void Answered(WebhookPoster.Result result)
    {
        if (_pending.Count == 0 || _pending[0].Id != result.EventId) { _posting = false; SendNext(); return; }
        var head = _pending[0];
        if (result.Sent)
        {
            _failures = 0;
            GatewayMetrics.Instance.WebhookSent(_tenant);
            Finish(new EventSent(head.Id));
            return;
        }
        _failures++;
        GatewayMetrics.Instance.WebhookFailedPost(_tenant);
        if (_backoff.IsTooOld(head.Time, DateTimeOffset.UtcNow))
        {
            _failures = 0;
            Finish(new EventDropped(head.Id, $"older than {_backoff.MaxAge} and still refused ({result.Detail})"));
            return;
        }
        _posting = false;
        var delay = _backoff.DelayAfter(_failures);
        _log.Warning("webhook events {0}: event {1} ({2}) not accepted: {3}; {4} pending, next try in {5}",
            _tenant, head.Id, head.Type, result.Detail, _pending.Count, delay);
        Timers.StartSingleTimer("retry", RetryDue.Instance, delay);
    }

    /// <summary>
    /// Journals that the head is done (sent or given up), then sends the next one. Persist, not
    /// PersistAsync: commands wait meanwhile, and every event
    /// queued before is in the list when a snapshot is taken here (the snapshot covers its rows).
    /// </summary>
    void Finish(object done)
    {
        Persist(done, e =>
        {
            if (e is EventDropped d)
            {
                GatewayMetrics.Instance.WebhookGivenUp(_tenant);
                _log.Error("webhook events {0}: event {1} given up: {2}", _tenant, d.Id, d.Reason);
            }
            Remove(e is EventSent s ? s.Id : ((EventDropped)e).Id);
            _posting = false;
            ShowPending();
            if (++_sinceSnapshot >= SnapshotEvery)
            {
                _sinceSnapshot = 0;
                SaveSnapshot(new PendingEvents(_pending.ToArray()));
            }
            SendNext();
        });
    }

    void Add(DeliveryEvent e)
    {
        if (_pendingIds.Add(e.Id)) _pending.Add(e);
    }

    void Remove(string id)
    {
        if (!_pendingIds.Remove(id)) return;
        // Almost always the head: events finish in order.
        var at = _pending.FindIndex(p => p.Id == id);
        if (at >= 0) _pending.RemoveAt(at);
    }

    void ShowPending() => GatewayMetrics.Instance.WebhookPending(_tenant, _pending.Count);
}

/// <summary>Event queues are sharded by tenant id.</summary>
public sealed class TenantEventsExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string EntityId(object message) => message switch
    {
        ITenantEventsCommand c => c.Tenant,
        ShardRegion.StartEntity s => s.EntityId,
        _ => null!,
    };
}
