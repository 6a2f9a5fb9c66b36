using ActorGateway.Mail.Tenants;
using Akka.Actor;

namespace ActorGateway.Node.Events;

/// <summary>
/// On every node: wakes the event queue of each tenant that has a webhook, soon after start and
/// then every wake-interval. A queue left with pending events by a restart or a failover has
/// nobody else to start it (sharding does not remember entities here), and the regular wake
/// keeps a queue in back-off from being passivated, which would forget its back-off.
/// </summary>
public sealed class TenantEventsWaker : ReceiveActor, IWithTimers
{
    sealed class Tick { public static readonly Tick Instance = new(); }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(Func<TenantDirectory> tenants, IActorRef region, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new TenantEventsWaker(tenants, region, interval));

    readonly TimeSpan _interval;

    public TenantEventsWaker(Func<TenantDirectory> tenants, IActorRef region, TimeSpan interval)
    {
        _interval = interval;
        Receive<Tick>(_ =>
        {
            foreach (var tenant in tenants().All.Where(t => t.Webhook is not null))
                region.Tell(new WakeTenantEvents(tenant.Id));
        });
    }

    // Timers are there from PreStart on, not in the constructor.
    protected override void PreStart() => Timers.StartPeriodicTimer("wake", Tick.Instance, TimeSpan.FromSeconds(1), _interval);
}
