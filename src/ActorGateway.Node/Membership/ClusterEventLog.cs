using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace ActorGateway.Node.Membership;

/// <summary>
/// Tells the operator, in this node's log, each change of the cluster's membership as this
/// node sees it: who became unreachable, who was downed (by the split brain resolver or an
/// operator), removed, or came back. Failover timings are read from these lines.
/// </summary>
public sealed class ClusterEventLog : ReceiveActor
{
    readonly ILoggingAdapter _log = Context.GetLogger();

    public static Props Props() => Akka.Actor.Props.Create(() => new ClusterEventLog());

    public ClusterEventLog()
    {
        Receive<ClusterEvent.MemberJoined>(e => Log("joining", e.Member));
        Receive<ClusterEvent.MemberUp>(e => Log("up", e.Member));
        Receive<ClusterEvent.MemberLeft>(e => Log("leaving", e.Member));
        Receive<ClusterEvent.MemberExited>(e => Log("exited", e.Member));
        Receive<ClusterEvent.MemberDowned>(e => Log("downed", e.Member));
        Receive<ClusterEvent.MemberRemoved>(e => Log($"removed (was {e.PreviousStatus.ToString().ToLowerInvariant()})", e.Member));
        Receive<ClusterEvent.UnreachableMember>(e => Log("unreachable", e.Member));
        Receive<ClusterEvent.ReachableMember>(e => Log("reachable again", e.Member));
        Receive<ClusterEvent.LeaderChanged>(e => _log.Info("cluster: leader is {0}", e.Leader?.ToString() ?? "none"));
    }

    void Log(string what, Member member) =>
        _log.Info("cluster: member {0} {1} roles [{2}]", member.Address, what, string.Join(",", member.Roles));

    protected override void PreStart() =>
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
}
