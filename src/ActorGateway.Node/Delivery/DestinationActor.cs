using ActorGateway.Mail.Delivery;
using Akka.Actor;
using Akka.Event;
using MailKit;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// All deliveries to one destination domain from this node, one at a time over one reused
/// connection. Owns the connection; closes it and stops when idle.
/// </summary>
public sealed class DestinationActor : ReceiveActor, IWithTimers
{
    sealed record Done(DeliverRequest Request, IActorRef ReplyTo, DeliveryOutcome Outcome, OutboundConnection? Connection);
    sealed class IdleTimeout { public static readonly IdleTimeout Instance = new(); }

    readonly string _domain;
    readonly DeliveryContext _context;
    readonly Queue<(DeliverRequest Request, IActorRef ReplyTo)> _waiting = new();
    readonly ILoggingAdapter _log = Context.GetLogger();
    OutboundConnection? _connection;
    bool _busy;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string domain, DeliveryContext context) => Akka.Actor.Props.Create(() => new DestinationActor(domain, context));

    public DestinationActor(string domain, DeliveryContext context)
    {
        _domain = domain; _context = context;
        Receive<DeliverRequest>(r => { _waiting.Enqueue((r, Sender)); Next(); });
        Receive<Done>(d =>
        {
            _busy = false;
            _connection = d.Connection;
            d.ReplyTo.Tell(new DeliverResult(d.Request.Domain, d.Outcome));
            Next();
        });
        // Idle: the agent decides, so that no request is forwarded to an actor that is stopping.
        Receive<IdleTimeout>(_ => { if (!_busy && _waiting.Count == 0) Context.Parent.Tell(new DestinationIdle(_domain)); });
        // Comes after every request the agent forwarded before it: work that arrived meanwhile keeps this actor.
        Receive<StopWhenIdle>(_ => { if (!_busy && _waiting.Count == 0) Context.Stop(Self); });
    }

    void Next()
    {
        if (_busy) return;
        if (_waiting.Count == 0) { Timers.StartSingleTimer("idle", IdleTimeout.Instance, _context.IdleTimeout); return; }
        Timers.Cancel("idle");
        _busy = true;
        var (request, replyTo) = _waiting.Dequeue();
        var connection = _connection;
        _connection = null; // owned by the running task until Done
        DeliverAsync(request, connection).PipeTo(Self,
            success: r => new Done(request, replyTo, r.Outcome, r.Connection),
            failure: e => new Done(request, replyTo,
                DeliveryOutcome.All(request.Job.Recipients, RecipientStatus.Deferred, "4.3.0", $"x-gateway; internal error: {e.Message}"), null));
    }

    async Task<(DeliveryOutcome Outcome, OutboundConnection? Connection)> DeliverAsync(DeliverRequest request, OutboundConnection? connection)
    {
        var job = request.Job;
        // A kept connection may have been closed by the server meanwhile: then one fresh try.
        // It serves only jobs whose forced-TLS requirement it meets.
        if (connection is { IsUsable: true } && connection.Satisfies(job.Tls))
        {
            try { return (await connection.SendAsync(job, CancellationToken.None), connection); }
            catch (Exception e) when (e is IOException or ServiceNotConnectedException or MailKit.Net.Smtp.SmtpProtocolException)
            {
                _log.Info("connection to {0} lost ({1}), reconnecting", connection.Hop.Host, e.Message);
            }
        }
        if (connection is not null) await connection.DisposeAsync();

        var resolution = await _context.Resolver.ResolveAsync(_domain);
        switch (resolution.Kind)
        {
            case ResolutionKind.NoMailServer:
                return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Failed, "5.1.2", $"x-gateway; {resolution.Detail}"), null);
            case ResolutionKind.TemporaryFailure:
                return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.3", $"x-gateway; {resolution.Detail}"), null);
        }
        var (fresh, error, tlsFailed) = await OutboundConnection.ConnectAsync(resolution.Hops, _context.SourceAddress, _context.HeloName,
            _context.ConnectTimeout, job.Tls, CancellationToken.None);
        if (fresh is null && tlsFailed && job.Tls is { } required)
            // RFC 3463/5248 X.7.10: encryption needed. Hold = retry later; reject = bounce now.
            return (required.OnFailure == TlsFailureAction.Hold
                ? DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.7.10", $"x-gateway; TLS could not be established: {error}")
                : DeliveryOutcome.All(job.Recipients, RecipientStatus.Failed, "5.7.10", $"x-gateway; TLS could not be established: {error}"), null);
        if (fresh is null)
            return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.1", $"x-gateway; connection failed: {error}"), null);
        try
        {
            return (await fresh.SendAsync(job, CancellationToken.None), fresh);
        }
        catch (Exception e) when (e is IOException or ServiceNotConnectedException or MailKit.Net.Smtp.SmtpProtocolException or OperationCanceledException)
        {
            await fresh.DisposeAsync();
            return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.2", $"x-gateway; connection to {fresh.Hop.Host} broke: {e.Message}"), null);
        }
    }

    protected override void PostStop()
    {
        _connection?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
    }
}
