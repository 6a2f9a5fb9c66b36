using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace ActorGateway.Node.RateLimit;

/// <summary>
/// Per-tenant rate limits set at run time by operations (actorgw tenant limit ID
/// --per-minute N | --off), for the whole cluster: a replicated map (distributed data),
/// tenant -> messages per minute (0 = off), that overrides the configuration until it is
/// cleared or the whole cluster restarts (make a lasting change in the configuration). Each
/// node keeps the current map for its SMTP ingress.
/// </summary>
public sealed class RateLimitOverrides
{
    public static readonly LWWDictionaryKey<string, int> Key = new("rate-limit-overrides");

    volatile ImmutableDictionary<string, int> _current = ImmutableDictionary<string, int>.Empty;

    /// <summary>The override for a tenant: messages per minute, 0 = off; null = as configured.</summary>
    public int? For(string tenant) => _current.TryGetValue(tenant, out var v) ? v : null;

    public IReadOnlyDictionary<string, int> Current => _current;

    /// <summary>A tenant's limit now: an operator's override, else its configuration; null = no limit.</summary>
    public int? LimitOf(ActorGateway.Mail.Tenants.Tenant tenant) => For(tenant.Id) switch
    {
        0 => null,
        { } perMinute => perMinute,
        null => tenant.RateLimit.Enabled ? tenant.RateLimit.PerMinute : null,
    };

    /// <summary>Keeps <see cref="Current"/> up to date on this node.</summary>
    public Props Subscriber() => Props.Create(() => new SubscriberActor(this));

    /// <summary>Sets (perMinute >= 0) or clears (null) a tenant's override, written to a majority of the nodes.</summary>
    public static Task<object> SetAsync(ActorSystem system, string tenant, int? perMinute)
    {
        var node = Cluster.Get(system).SelfUniqueAddress;
        var update = Dsl.Update(Key, LWWDictionary<string, int>.Empty, new WriteMajority(TimeSpan.FromSeconds(5)),
            map => perMinute is { } n ? map.SetItem(node, tenant, n) : map.Remove(node, tenant));
        return DistributedData.Get(system).Replicator.Ask<object>(update, TimeSpan.FromSeconds(10));
    }

    sealed class SubscriberActor : ReceiveActor
    {
        public SubscriberActor(RateLimitOverrides owner)
        {
            Receive<Changed>(c => owner._current = c.Get(Key).Entries.ToImmutableDictionary());
        }

        protected override void PreStart() => DistributedData.Get(Context.System).Replicator.Tell(Dsl.Subscribe(Key, Self));
    }
}
