using ActorGateway.Node.Delivery;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using Akka.Event;

namespace ActorGateway.Node.Routing;

/// <summary>
/// One egress pool as seen from this node (one router per pool on every node): the cluster
/// members with the pool's role that are up and reachable. Deliveries go to their delivery
/// agents in turn, so that every node of the pool takes a share of each destination's backlog
/// (each within its own limits per destination, with its own open connections). With no member left,
/// the request is answered <see cref="PoolUnavailable"/>: the message waits; it never moves
/// to the other pool. A good gateway whose egress address is on a blacklist (see
/// BlacklistMonitor) is left out of the good pool until it is clear; the bad pool keeps
/// its members whatever their listing.
/// </summary>
public sealed class PoolRouter : ReceiveActor
{
    readonly string _pool, _role;
    readonly ILoggingAdapter _log = Context.GetLogger();
    // By unique address: a node restarted at the same address is a new member (a new incarnation).
    readonly Dictionary<UniqueAddress, Member> _up = [];
    readonly HashSet<UniqueAddress> _unreachable = [];
    IReadOnlySet<string> _listed = new HashSet<string>();

    public static Props Props(string pool) => Akka.Actor.Props.Create(() => new PoolRouter(pool));

    /// <summary>The name of the actor per pool on every node: /user/pool-good, /user/pool-bad.</summary>
    public static string Name(string pool) => "pool-" + pool;

    /// <summary>The delivery agent of a pool on a node that has the pool's role.</summary>
    public static string AgentName(string pool) => "delivery-" + pool;

    public PoolRouter(string pool)
    {
        _pool = pool;
        _role = Pipeline.Pools.RoleOf(pool);
        Receive<ClusterEvent.CurrentClusterState>(s =>
        {
            foreach (var m in s.Members) if (m.Status == MemberStatus.Up) Track(m, true);
            foreach (var m in s.Unreachable) _unreachable.Add(m.UniqueAddress);
            LogMembers();
        });
        Receive<ClusterEvent.MemberUp>(e => { Track(e.Member, true); LogMembers(); });
        Receive<ClusterEvent.MemberRemoved>(e => { Track(e.Member, false); LogMembers(); });
        Receive<ClusterEvent.MemberExited>(e => { Track(e.Member, false); LogMembers(); });
        Receive<ClusterEvent.UnreachableMember>(e => { if (_unreachable.Add(e.Member.UniqueAddress) && _up.ContainsKey(e.Member.UniqueAddress)) LogMembers(); });
        Receive<ClusterEvent.ReachableMember>(e => { if (_unreachable.Remove(e.Member.UniqueAddress) && _up.ContainsKey(e.Member.UniqueAddress)) LogMembers(); });
        Receive<Changed>(c =>
        {
            if (!c.Key.Equals(EgressAddresses.ListedKey)) return;
            _listed = c.Get(EgressAddresses.ListedKey).Elements.ToHashSet();
            LogMembers();
        });
        Receive<DeliverRequest>(Route);
        Receive<GetPoolMembers>(_ => Sender.Tell(Members()));
    }

    protected override void PreStart()
    {
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        if (_pool == Pipeline.Pools.Good)
            DistributedData.Get(Context.System).Replicator.Tell(Dsl.Subscribe(EgressAddresses.ListedKey, Self));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    void Track(Member member, bool up)
    {
        if (!member.HasRole(_role)) return;
        if (up) _up[member.UniqueAddress] = member;
        else { _up.Remove(member.UniqueAddress); _unreachable.Remove(member.UniqueAddress); }
    }

    void LogMembers()
    {
        var live = Live().Select(a => a.ToString()).ToArray();
        var listed = _up.Values.Where(Listed).Select(m => m.Address.ToString()).ToArray();
        _log.Info("pool {0}: {1} gateway(s) available [{2}]{3}", _pool, live.Length, string.Join(", ", live),
            listed.Length > 0 ? $", blacklisted and left out [{string.Join(", ", listed)}]" : "");
    }

    bool Listed(Member m) => EgressAddresses.Of(m).Any(e => e.Pool == _pool && _listed.Contains(e.Address));

    PoolMembers Members()
    {
        var live = Live().ToHashSet();
        return new PoolMembers(_pool, _role, _up.Values.OrderBy(m => m.Address.ToString()).Select(m => new PoolMember(m.Address.ToString(),
            EgressAddresses.Of(m).Where(e => e.Pool == _pool).Select(e => e.Address).FirstOrDefault(),
            !_unreachable.Contains(m.UniqueAddress), Listed(m), live.Contains(m.Address))).ToArray());
    }

    IEnumerable<Address> Live() => _up.Values.Where(m => !_unreachable.Contains(m.UniqueAddress) && !Listed(m))
        .Select(m => m.Address).OrderBy(a => a.ToString());

    void Route(DeliverRequest request)
    {
        var live = Live().ToArray();
        if (live.Length == 0) { Sender.Tell(new PoolUnavailable(_pool)); return; }
        var target = live[(int)(_next++ % (ulong)live.Length)];
        Context.ActorSelection(new RootActorPath(target) / "user" / AgentName(_pool)).Tell(request, Sender);
    }

    ulong _next;
}
