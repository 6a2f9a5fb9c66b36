using Akka.Actor;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// The node's delivery service (Postfix's smtp processes): hands each request to the actor
/// of its destination domain, which keeps a connection open for the next message.
/// </summary>
public sealed class DeliveryAgent : ReceiveActor
{
    public static Props Props(DeliveryContext context) => Akka.Actor.Props.Create(() => new DeliveryAgent(context));

    public DeliveryAgent(DeliveryContext context)
    {
        Receive<DeliverRequest>(request =>
        {
            var name = "dest-" + Uri.EscapeDataString(request.Domain.ToLowerInvariant());
            var destination = Context.Child(name);
            if (destination.IsNobody()) destination = Context.ActorOf(DestinationActor.Props(request.Domain, context), name);
            destination.Forward(request);
        });
    }

    // A destination that fails is restarted empty; its requesters see the ask time out and retry later.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
}
