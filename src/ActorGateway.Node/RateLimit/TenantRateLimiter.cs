using ActorGateway.Mail.Tenants;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;

namespace ActorGateway.Node.RateLimit;

/// <summary>
/// One tenant's mail rate for the whole cluster: a sharded, persistent entity, so every node
/// asks the same counter. What counts: messages accepted (a permit is taken right before the
/// message is stored) in any sliding 60 seconds. Each permit is journaled before it is
/// granted, so when the limiter's node dies, the entity that takes over on another node
/// replays exactly the same window: the limit holds across failover. A permit whose message
/// then fails to store stays counted, which errs on the side of refusing.
/// </summary>
public sealed class TenantRateLimiter : ReceivePersistentActor
{
    public const string RegionName = "ratelimit";
    static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    readonly string _tenant;
    readonly SlidingWindowLimit _window = new(Window);
    readonly ILoggingAdapter _log = Context.GetLogger();
    // Journal rows are pruned at a snapshot once the window has turned over.
    int _sinceSnapshot;

    public override string PersistenceId => "ratelimit-" + _tenant;

    public static Props Props(string tenant) => Akka.Actor.Props.Create(() => new TenantRateLimiter(tenant));

    public TenantRateLimiter(string tenant)
    {
        _tenant = tenant;
        Recover<SnapshotOffer>(o => { if (o.Snapshot is RateLimitWindowState s) foreach (var at in s.Grants) _window.Add(at); });
        Recover<PermitTaken>(e => _window.Add(e.At));
        Recover<RecoveryCompleted>(_ => _log.Info("rate limit {0}: counting on {1}, {2} message(s) in the last minute",
            _tenant, Akka.Cluster.Cluster.Get(Context.System).SelfAddress, _window.Grants(DateTimeOffset.UtcNow).Count));

        Command<CheckRateLimit>(c => Sender.Tell(Answer(c.PerMinute, HasRoom(c.PerMinute))));
        Command<TakePermit>(Take);
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning("rate limit {0}: snapshot failed: {1}", _tenant, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning("rate limit {0}: pruning failed: {1}", _tenant, f.Cause.Message));
    }

    bool HasRoom(int perMinute) => _window.HasRoom(perMinute, DateTimeOffset.UtcNow);

    RateLimitAnswer Answer(int perMinute, bool allowed)
    {
        var now = DateTimeOffset.UtcNow;
        return new RateLimitAnswer(_tenant, allowed, _window.Grants(now).Count, perMinute, allowed ? TimeSpan.Zero : _window.RetryAfter(perMinute, now));
    }

    void Take(TakePermit take)
    {
        if (!HasRoom(take.PerMinute))
        {
            _log.Info("rate limit {0}: {1} refused, {2} of {3} per minute used", _tenant, take.QueueId, _window.Grants(DateTimeOffset.UtcNow).Count, take.PerMinute);
            Sender.Tell(Answer(take.PerMinute, false));
            return;
        }
        // Persist (not PersistAsync): later commands wait until this permit is counted.
        Persist(new PermitTaken(DateTimeOffset.UtcNow, take.QueueId), e =>
        {
            _window.Add(e.At);
            Sender.Tell(Answer(take.PerMinute, true));
            if (++_sinceSnapshot >= Math.Max(take.PerMinute, 10))
            {
                _sinceSnapshot = 0;
                SaveSnapshot(new RateLimitWindowState(_window.Grants(DateTimeOffset.UtcNow).ToArray()));
            }
        });
    }
}

/// <summary>Limiters are sharded by tenant id.</summary>
public sealed class RateLimitExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string EntityId(object message) => message switch
    {
        IRateLimitCommand c => c.Tenant,
        ShardRegion.StartEntity s => s.EntityId,
        _ => null!,
    };
}
