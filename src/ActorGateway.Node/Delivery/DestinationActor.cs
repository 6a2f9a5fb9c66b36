using ActorGateway.Mail.Delivery;
using Akka.Actor;
using Akka.Event;
using MailKit;

namespace ActorGateway.Node.Delivery;

/// <summary>
/// All deliveries to one destination from this node, a recipient domain or a provider group
/// (Postfix's qmgr queue of one destination with its smtp processes): up to the destination's adaptive limit at once
/// (<see cref="DestinationConcurrency"/>), each over a connection of its own, reused for the
/// next message while it is open (up to max-messages-per-connection). Requests wait in order
/// for a free slot; one whose start-by time has passed is answered "not attempted" and never
/// sent. A started delivery is cut off after the send timeout. Closes its connections and stops
/// when idle.
/// </summary>
public sealed class DestinationActor : ReceiveActor, IWithTimers
{
    sealed record Done(DeliverRequest Request, IActorRef ReplyTo, DeliveryOutcome Outcome, Pooled? Connection);
    sealed class IdleTimeout { public static readonly IdleTimeout Instance = new(); }
    sealed class PauseOver { public static readonly PauseOver Instance = new(); }

    /// <summary>An open connection and how many messages it has carried.</summary>
    sealed class Pooled(OutboundConnection connection, bool skippedDane = false)
    {
        public OutboundConnection Connection { get; } = connection;
        public int Sent { get; set; }
        /// <summary>Opened for "TLS-Required: No" mail without the DANE checks its hosts demand: only such mail may reuse it.</summary>
        public bool SkippedDane { get; } = skippedDane;
    }

    readonly string _destination;
    readonly DeliveryContext _context;
    readonly DestinationConcurrency _concurrency;
    readonly Queue<(DeliverRequest Request, IActorRef ReplyTo)> _waiting = new();
    readonly List<Pooled> _idle = [];
    readonly ILoggingAdapter _log = Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string pool, string destination, DeliveryContext context) => Akka.Actor.Props.Create(() => new DestinationActor(pool, destination, context));

    readonly string _pool;

    public DestinationActor(string pool, string destination, DeliveryContext context)
    {
        _pool = pool; _destination = destination; _context = context;
        _concurrency = new DestinationConcurrency(context.For(destination));
        Receive<DeliverRequest>(r => { _waiting.Enqueue((r, Sender)); Pump(); });
        Receive<Done>(d =>
        {
            var now = DateTimeOffset.UtcNow;
            var wasPaused = _concurrency.PausedUntil is not null;
            _concurrency.Finished(DestinationConcurrency.TroubleIn(d.Outcome), now);
            if (!wasPaused && _concurrency.PausedUntil is { } until)
                _log.Warning("destination {0} paused until {1:O} after {2} failed deliveries in a row: {3}", _destination, until,
                    _concurrency.Settings.FailuresBeforePause, _concurrency.LastError);
            d.ReplyTo.Tell(new DeliverResult(d.Request.Domain, d.Outcome));
            var statuses = d.Outcome.Recipients.Select(r => r.Status).Distinct().ToArray();
            ActorGateway.Node.Operations.GatewayMetrics.Instance.DestinationResult(_pool, _destination,
                statuses.Length == 1 ? statuses[0].ToString().ToLowerInvariant() : "mixed");
            if (d.Connection is { } pooled)
            {
                if (pooled.Connection.IsUsable && pooled.Sent < _concurrency.Settings.MaxMessagesPerConnection) _idle.Add(pooled);
                else _ = pooled.Connection.DisposeAsync().AsTask();
            }
            Pump();
        });
        Receive<PauseOver>(_ => Pump());
        Receive<GetDestinationStates>(_ => Sender.Tell(State()));
        // Idle: the agent decides, so that no request is forwarded to an actor that is stopping.
        Receive<IdleTimeout>(_ => { if (IsIdle) Context.Parent.Tell(new DestinationIdle(_destination)); });
        // Comes after every request the agent forwarded before it: work that arrived meanwhile keeps this actor.
        Receive<StopWhenIdle>(_ => { if (IsIdle) Context.Stop(Self); });
    }

    bool IsIdle => _concurrency.Active == 0 && _waiting.Count == 0;

    DestinationState State() => new(_destination, _concurrency.Active, _concurrency.Limit, _idle.Count, _waiting.Count, _concurrency.Delivered,
        _concurrency.Failed, _concurrency.FailuresInARow, _concurrency.PausedUntil, _concurrency.LastError);

    /// <summary>Starts what the limit allows, in order; answers what waited too long, and all that waits while paused.</summary>
    void Pump()
    {
        var now = DateTimeOffset.UtcNow;
        while (_waiting.Count > 0)
        {
            var (request, replyTo) = _waiting.Peek();
            if (now > request.StartBy)
            {
                _waiting.Dequeue();
                var why = _concurrency.RateAllowsAt(now) > now ? $"{_destination}'s message-rate limit held it back"
                    : $"no connection to {_destination} was free in time ({_concurrency.Active} busy)";
                replyTo.Tell(new DeliverResult(request.Domain, DeliveryOutcome.NotTried(request.Job.Recipients, "4.4.5", why), WaitedOut: true));
                continue;
            }
            if (_concurrency.IsPaused(now))
            {
                _waiting.Dequeue();
                replyTo.Tell(new DeliverResult(request.Domain, DeliveryOutcome.NotTried(request.Job.Recipients, "4.4.1",
                    $"{_destination} paused until {_concurrency.PausedUntil:HH:mm:ss} after repeated failures ({_concurrency.LastError})"),
                    PausedUntil: _concurrency.PausedUntil));
                continue;
            }
            if (!_concurrency.TryStart(now)) break;
            _waiting.Dequeue();
            Start(request, replyTo);
        }
        if (_concurrency.PausedUntil is { } until && until > now) Timers.StartSingleTimer("pause", PauseOver.Instance, until - now);
        // Held back by a message-rate limit: look again when it lets the next one start.
        else if (_waiting.Count > 0 && _concurrency.RateAllowsAt(now) is var allowed && allowed > now)
            Timers.StartSingleTimer("pause", PauseOver.Instance, allowed - now);
        if (IsIdle) Timers.StartSingleTimer("idle", IdleTimeout.Instance, _context.IdleTimeout);
        else Timers.Cancel("idle");
    }

    void Start(DeliverRequest request, IActorRef replyTo)
    {
        // An open connection that meets the message's TLS requirement, if there is one.
        var index = _idle.FindLastIndex(p => p.Connection.Satisfies(request.Job.Tls) && (!p.SkippedDane || request.Job.IgnoreTlsPolicy));
        Pooled? pooled = null;
        if (index >= 0) { pooled = _idle[index]; _idle.RemoveAt(index); }
        DeliverAsync(request, pooled).PipeTo(Self,
            success: r => new Done(request, replyTo, r.Outcome, r.Connection),
            failure: e => new Done(request, replyTo,
                DeliveryOutcome.All(request.Job.Recipients, RecipientStatus.Deferred, "4.3.0", $"x-gateway; internal error: {e.Message}"), null));
    }

    async Task<(DeliveryOutcome Outcome, Pooled? Connection)> DeliverAsync(DeliverRequest request, Pooled? pooled)
    {
        var job = request.Job;
        // Cut off after the send timeout: the requester waits that long for a delivery that started, not longer.
        using var cut = new CancellationTokenSource(_context.SendTimeout);
        // A kept connection may have been closed by the server meanwhile: then one fresh try.
        if (pooled is { Connection.IsUsable: true })
        {
            try { return (await SendAsync(pooled, job, cut.Token), pooled); }
            catch (Exception e) when (e is IOException or ServiceNotConnectedException or MailKit.Net.Smtp.SmtpProtocolException or OperationCanceledException)
            {
                if (cut.IsCancellationRequested)
                {
                    await pooled.Connection.DisposeAsync();
                    return (CutOff(job, pooled.Connection), null);
                }
                _log.Info("connection to {0} lost ({1}), reconnecting", pooled.Connection.Hop.Host, e.Message);
            }
        }
        if (pooled is not null) await pooled.Connection.DisposeAsync();

        var resolution = await _context.Resolver.ResolveAsync(request.Domain);
        switch (resolution.Kind)
        {
            case ResolutionKind.NoMailServer:
                return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Failed, "5.1.2", $"x-gateway; {resolution.Detail}"), null);
            case ResolutionKind.TemporaryFailure:
                return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.3", $"x-gateway; {resolution.Detail}"), null);
        }
        // "TLS-Required: No" (RFC 8689 4.1): DANE does not apply to this message either.
        var hops = job.IgnoreTlsPolicy ? resolution.Hops.Select(h => h with { Dane = null }).ToList() : resolution.Hops;
        // An MTA-STS policy allows only the MX hosts it names; never fall back to another.
        hops = job.Tls?.AllowedHops(hops) ?? hops;
        if (hops.Count == 0 && job.Tls is { } policy)
            return (TlsPolicyRefusal.NoAllowedMx(job, policy, resolution.Hops), null);
        var (fresh, error, tlsFailed, daneFailed) = await OutboundConnection.ConnectAsync(hops, _context.SourceAddress, _context.HeloName,
            _context.ConnectTimeout, job.Tls, cut.Token, _context.Trust);
        if (fresh is null && daneFailed)
            // RFC 7672: a DANE failure is never a reason to send in plaintext or to bounce; X.7.5 = cryptographic failure.
            return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.7.5", $"x-gateway; DANE: no MX host passed DANE authentication: {error}")
                with { Policy = TlsPolicySource.Dane }, null);
        if (fresh is null && tlsFailed && job.Tls is { } required)
            return (TlsPolicyRefusal.NoTls(job, required, error), null);
        if (fresh is null)
            return (DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.1", $"x-gateway; connection failed: {error}"), null);
        var connection = new Pooled(fresh, job.IgnoreTlsPolicy && resolution.Hops.Any(h => h.Dane is not null));
        try
        {
            return (await SendAsync(connection, job, cut.Token), connection);
        }
        catch (Exception e) when (e is IOException or ServiceNotConnectedException or MailKit.Net.Smtp.SmtpProtocolException or OperationCanceledException)
        {
            await fresh.DisposeAsync();
            return (cut.IsCancellationRequested ? CutOff(job, fresh)
                : DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.2", $"x-gateway; connection to {fresh.Hop.Host} broke: {e.Message}"), null);
        }
    }

    DeliveryOutcome CutOff(DeliveryJob job, OutboundConnection connection) =>
        DeliveryOutcome.All(job.Recipients, RecipientStatus.Deferred, "4.4.2", $"x-gateway; delivery to {connection.Hop.Host} cut off after {_context.SendTimeout}");

    /// <summary>One transaction per max-recipients-per-transaction recipients, on the same connection.</summary>
    async Task<DeliveryOutcome> SendAsync(Pooled pooled, DeliveryJob job, CancellationToken ct)
    {
        pooled.Sent++;
        var max = _concurrency.Settings.MaxRecipientsPerTransaction;
        if (job.Recipients.Count <= max) return await pooled.Connection.SendAsync(job, ct);
        var outcomes = new List<DeliveryOutcome>();
        foreach (var part in job.Recipients.Chunk(max)) outcomes.Add(await pooled.Connection.SendAsync(job with { Recipients = part }, ct));
        return new DeliveryOutcome(outcomes.SelectMany(o => o.Recipients).ToArray(), outcomes[0].RemoteMta, outcomes[0].Tls, outcomes[0].SourceAddress);
    }

    protected override void PostStop()
    {
        foreach (var p in _idle) p.Connection.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
    }
}
