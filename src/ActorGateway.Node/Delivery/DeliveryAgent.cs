using Akka.Actor;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// The node's delivery service (Postfix's smtp processes): hands each request to the actor
/// of its destination domain, which keeps a connection open for the next message.
/// </summary>
public sealed class DeliveryAgent : ReceiveActor
{
    public static Props Props(DeliveryContext context) => Akka.Actor.Props.Create(() => new DeliveryAgent(context));

    readonly Dictionary<string, IActorRef> _destinations = new(StringComparer.OrdinalIgnoreCase);
    long _created;

    public DeliveryAgent(DeliveryContext context)
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
        Receive<Terminated>(t =>
        {
            foreach (var (domain, actor) in _destinations.Where(d => d.Value.Equals(t.ActorRef)).ToArray()) _destinations.Remove(domain);
        });
    }

    // A destination that fails is restarted empty; its requesters see the ask time out and retry later.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
}
