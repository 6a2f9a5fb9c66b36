using ActorGateway.Mail.Delivery;
using Akka.Actor;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// The node's delivery service for one pool (Postfix's smtp processes): hands each request to
/// the actor of its destination, which shapes the connections to it. A destination is the
/// recipient domain, or the provider group its MX hosts belong to (gateway.delivery.groups):
/// then the domain's MX is looked up first, and the answer kept for a few minutes.
/// </summary>
public sealed class DeliveryAgent : ReceiveActor
{
    sealed record DestinationFound(string Domain, string Destination);

    static readonly TimeSpan KeepDestination = TimeSpan.FromMinutes(5);

    public static Props Props(string pool, DeliveryContext context) => Akka.Actor.Props.Create(() => new DeliveryAgent(pool, context));

    readonly Dictionary<string, IActorRef> _destinations = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, (string Destination, DateTime Until)> _destinationOf = new(StringComparer.OrdinalIgnoreCase);
    readonly Dictionary<string, List<(DeliverRequest Request, IActorRef ReplyTo)>> _looking = new(StringComparer.OrdinalIgnoreCase);
    readonly DeliveryContext _context;
    readonly string _pool;
    long _created;

    public DeliveryAgent(string pool, DeliveryContext context)
    {
        _context = context;
        _pool = pool;
        Receive<DeliverRequest>(request =>
        {
            if (context.Groups.Count == 0) { Forward(request.Domain, request, Sender); return; }
            if (_destinationOf.TryGetValue(request.Domain, out var known) && known.Until > DateTime.UtcNow) { Forward(known.Destination, request, Sender); return; }
            if (_looking.TryGetValue(request.Domain, out var waiting)) { waiting.Add((request, Sender)); return; }
            _looking[request.Domain] = [(request, Sender)];
            var domain = request.Domain;
            // A failed lookup leaves the domain on its own; its delivery looks up again and reports the failure.
            context.Resolver.ResolveAsync(domain).PipeTo(Self,
                success: r => new DestinationFound(domain, DestinationGroup.DestinationOf(domain, r, context.Groups)),
                failure: _ => new DestinationFound(domain, domain.ToLowerInvariant()));
        });
        Receive<DestinationFound>(found =>
        {
            _destinationOf[found.Domain] = (found.Destination, DateTime.UtcNow + KeepDestination);
            if (_looking.Remove(found.Domain, out var waiting))
                foreach (var (request, replyTo) in waiting) Forward(found.Destination, request, replyTo);
        });
        Receive<DestinationIdle>(idle =>
        {
            // New requests go to a new actor from now on; this one stops once what it already got is done.
            if (_destinations.TryGetValue(idle.Destination, out var current) && current.Equals(Sender)) _destinations.Remove(idle.Destination);
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
            foreach (var (name, actor) in _destinations.Where(d => d.Value.Equals(t.ActorRef)).ToArray()) _destinations.Remove(name);
        });
    }

    void Forward(string name, DeliverRequest request, IActorRef replyTo)
    {
        if (!_destinations.TryGetValue(name, out var destination))
        {
            // A fresh name each time: an idle predecessor may still be stopping under the old one.
            destination = Context.ActorOf(DestinationActor.Props(_pool, name, _context), $"dest-{Uri.EscapeDataString(name.ToLowerInvariant())}-{++_created}");
            Context.Watch(destination);
            _destinations[name] = destination;
        }
        destination.Tell(request, replyTo);
    }

    // A destination that fails is restarted empty; its requesters see the ask time out and retry later.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Restart);
}
