using Akka.Actor;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// The node's delivery service for one pool (Postfix's smtp processes): hands each request to
/// the actor of its destination domain, which shapes the connections to it.
/// </summary>
public sealed class DeliveryAgent : ReceiveActor
{
    public static Props Props(string pool, DeliveryContext context) => Akka.Actor.Props.Create(() => new DeliveryAgent(pool, context));

    readonly Dictionary<string, IActorRef> _destinations = new(StringComparer.OrdinalIgnoreCase);
    long _created;

    public DeliveryAgent(string pool, DeliveryContext context)
    {
        Receive<DeliverRequest>(request =>
        {
            if (!_destinations.TryGetValue(request.Domain, out var destination))
            {
                // A fresh name each time: an idle predecessor may still be stopping under the old one.
                destination = Context.ActorOf(DestinationActor.Props(request.Domain, context),
                    $"dest-{Uri.EscapeDataString(request.Domain.ToLowerInvariant())}-{++_created}");
                Context.Watch(destination);
                _destinations[request.Domain] = destination;
            }
            destination.Forward(request);
        });
        Receive<DestinationIdle>(idle =>
        {
            // New requests go to a new actor from now on; this one stops once what it already got is done.
            if (_destinations.TryGetValue(idle.Domain, out var current) && current.Equals(Sender)) _destinations.Remove(idle.Domain);
            Sender.Tell(StopWhenIdle.Instance);
        });
        Receive<GetDestinationStates>(_ =>
        {
            var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
            var asks = _destinations.Values.Select(d => d.Ask<DestinationState>(new GetDestinationStates(), TimeSpan.FromSeconds(3))).ToArray();
            Task.WhenAll(asks).ContinueWith(t => new DestinationStates(node, pool,
                t.IsCompletedSuccessfully ? t.Result.OrderBy(s => s.Destination).ToArray() : [])).PipeTo(Sender);
        });
        Receive<Terminated>(t =>
        {
            foreach (var (domain, actor) in _destinations.Where(d => d.Value.Equals(t.ActorRef)).ToArray()) _destinations.Remove(domain);
        });
    }

    // A destination that fails is restarted empty; its requesters see the ask time out and retry later.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
}
