using ActorGateway.Mail.Checks;
using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Queue;
using ActorGateway.Mail.Scanning;
using ActorGateway.Mail.Signing;
using ActorGateway.Mail.Tenants;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Storage;
using ActorGateway.Smtp.Hooks;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Ingress;

/// <summary>
/// Postfix's smtpd restrictions for the gateway: who the client is (tenant by AUTH login or
/// source network), whether it may send from this sender (and within the tenant's rate
/// limit), the scans, and handing the message to this node's intake, whose journal write is
/// what the 250 promises.
/// </summary>
public sealed class GatewaySmtpHooks(
    Func<TenantDirectory> tenants, SenderDomainCheck senderCheck, RateLimitGate rateLimit, VirusGate virusGate, SpamClassifier spam, DkimSigning dkim, Func<IActorRef> intake, string serverName,
    TraceSettings trace, TimeSpan storeTimeout, StorageHealth storage, LoginGate login, ILogger log, ActorGateway.Node.Events.DeliveryEvents events)
    : ISmtpAuthenticator, IEnvelopeFilter, IMessageStore
{
    public static readonly SmtpReply UnknownClient = new(554, "5.7.1", "Relay access denied: client is not a known tenant");
    public static readonly SmtpReply NullSenderRefused = new(550, "5.7.1", "The null sender is not accepted from clients");
    public static readonly SmtpReply SenderDomainMustResolve = new(550, "5.1.8", "Sender Domain must resolve");
    public static readonly SmtpReply SenderDomainLookupFailed = new(451, "4.4.3", "Sender domain could not be resolved, try again later");
    public static readonly SmtpReply NotStored = new(451, "4.3.0", "Message not stored: the queue storage is unavailable, try again later");

    public SmtpHooks Hooks => new(this, this, this);

    public ValueTask<SmtpReply?> CanAuthenticateAsync(SmtpSessionContext session, CancellationToken ct) => ValueTask.FromResult(login.Refusal(session));

    public async ValueTask<bool> AuthenticateAsync(SmtpSessionContext session, string user, string password, CancellationToken ct)
    {
        var tenant = await login.AuthenticateAsync(session, tenants(), user, password, ct);
        if (tenant is not null) session.Properties = tenant;
        return tenant is not null;
    }

    public async ValueTask<SmtpReply> CanSendFromAsync(SmtpSessionContext session, MailFromCommand mail, CancellationToken ct)
    {
        var reply = await CanSendFromCoreAsync(session, mail, ct);
        if (!reply.IsPositive && TenantOf(session) is { } tenant)
            events.Refused(tenant, session.RemoteAddress.ToString(), null, mail.Sender.Address, [], () => null, reply);
        return reply;
    }

    async ValueTask<SmtpReply> CanSendFromCoreAsync(SmtpSessionContext session, MailFromCommand mail, CancellationToken ct)
    {
        var tenant = TenantOf(session);
        if (tenant is null)
        {
            log.LogWarning("{Session} refused: client {Client} is no tenant", session.SessionId, session.RemoteAddress);
            Metrics.Rejected("unknown-client");
            return UnknownClient;
        }
        if (mail.Sender.IsNull) { Metrics.Rejected("null-sender"); return NullSenderRefused; }
        if (!tenant.OwnsDomain(mail.Sender.Domain))
        {
            log.LogWarning("{Session} tenant={Tenant} refused sender <{Sender}>: domain not owned", session.SessionId, tenant.Id, mail.Sender.Address);
            Metrics.Rejected("sender-domain-not-owned");
            return new SmtpReply(550, "5.7.1", $"Sender domain {mail.Sender.Domain} is not permitted for this client");
        }
        switch (await senderCheck.CheckAsync(mail.Sender.Domain, ct))
        {
            case SenderDomainVerdict.DoesNotResolve:
                log.LogInformation("{Session} tenant={Tenant} refused sender <{Sender}>: domain does not resolve", session.SessionId, tenant.Id, mail.Sender.Address);
                Metrics.Rejected("sender-domain-does-not-resolve");
                return SenderDomainMustResolve;
            case SenderDomainVerdict.TemporaryFailure:
                log.LogWarning("{Session} tenant={Tenant} deferred sender <{Sender}>: DNS lookup failed", session.SessionId, tenant.Id, mail.Sender.Address);
                Metrics.Rejected("sender-domain-lookup-failed");
                return SenderDomainLookupFailed;
        }
        if (await rateLimit.CheckAsync(session.SessionId, tenant, ct) is { } limited) { Metrics.Rejected("rate-limit"); return limited; }
        return SmtpReply.SenderOk;
    }

    public ValueTask<SmtpReply> CanDeliverToAsync(SmtpSessionContext session, MailFromCommand mail, RcptToCommand rcpt, CancellationToken ct) =>
        // An outbound gateway delivers anywhere, but only for tenants (checked at MAIL).
        ValueTask.FromResult(TenantOf(session) is null ? UnknownClient : SmtpReply.RecipientOk);

    public async ValueTask<SmtpReply> SaveAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageBody body, CancellationToken ct)
    {
        var took = System.Diagnostics.Stopwatch.StartNew();
        var queueId = QueueId.New();
        var reply = await SaveCoreAsync(session, transaction, body, queueId, ct);
        Metrics.Answered(reply.Code == 250, took.Elapsed);
        if (!reply.IsPositive)
            events.Refused(TenantOf(session)!, session.RemoteAddress.ToString(), queueId, transaction.Sender,
                transaction.Recipients.Select(r => r.Address).ToArray(), () => Bytes(body), reply);
        return reply;
    }

    /// <summary>The message as the client sent it (for the Message-ID of a refusal event).</summary>
    static byte[] Bytes(MessageBody body)
    {
        var bytes = new byte[body.Length];
        var at = 0;
        foreach (var chunk in body.Chunks()) { chunk.Span.CopyTo(bytes.AsSpan(at)); at += chunk.Length; }
        return bytes;
    }

    async ValueTask<SmtpReply> SaveCoreAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageBody body, string queueId, CancellationToken ct)
    {
        var tenant = TenantOf(session)!;
        var mode = tenant.TraceHeader ?? trace.Mode;
        var header = System.Text.Encoding.UTF8.GetBytes(TraceHeader.Build(session, transaction, serverName, queueId, mode));
        var bytes = new byte[header.Length + body.Length];
        header.CopyTo(bytes, 0);
        var at = header.Length;
        foreach (var chunk in body.Chunks()) { chunk.Span.CopyTo(bytes.AsSpan(at)); at += chunk.Length; }
        // Counted as the client sent it (our own line not counted), before anything is removed; like Postfix's hopcount_limit.
        var hops = ReceivedFields.Count(bytes) - 1;
        if (hops >= trace.MaxHops)
        {
            log.LogWarning("{Session} tenant={Tenant} refused: {Hops} Received fields, the limit is {Max}: mail loop", session.SessionId, tenant.Id, hops, trace.MaxHops);
            Metrics.Rejected("too-many-hops");
            return new SmtpReply(554, "5.4.6", $"Too many hops ({hops} Received header fields): mail loop");
        }
        if (mode == TraceMode.HideClientAndStrip) bytes = ReceivedFields.StripForeign(bytes);

        var envelope = new MessageEnvelope(tenant.Id, transaction.Sender,
            transaction.Recipients.Select(r => new QueuedRecipient(r.Address, (int)r.Notify, r.OriginalRecipient)).ToArray(),
            // RFC 8689 5: an NDR of REQUIRETLS mail may travel without TLS, so it never carries the body.
            transaction.EnvelopeId, transaction.Return == DsnReturn.Headers || transaction.RequireTls, transaction.SmtpUtf8, transaction.ReceivedAt,
            session.RemoteAddress.ToString(), IsBounce: false, ClientHelo: session.HeloName, RequireTls: transaction.RequireTls);
        // Parsed once for all the checks below.
        var scanned = new ScannedMessage(bytes);
        // RFC 8689 4.1: with REQUIRETLS the TLS-Required field is ignored.
        if (!transaction.RequireTls && TlsRequiredHeader.SaysNo(scanned.Mime?.Headers)) envelope = envelope with { TlsOptional = true };
        var scan = System.Diagnostics.Stopwatch.StartNew();
        var refusal = await virusGate.CheckAsync(queueId, envelope, scanned, ct);
        Metrics.Scanned("antivirus", scan.Elapsed);
        if (refusal is not null) { Metrics.Rejected(refusal.Code == 554 ? "virus" : "antivirus-unavailable"); return refusal; }
        scan.Restart();
        var (classified, spamRefusal) = await spam.ClassifyAsync(queueId, tenant, envelope, scanned,
            new SpamContext(session.RemoteAddress.ToString(), session.HeloName, transaction.Sender,
                transaction.Recipients.Select(r => r.Address).ToArray(), session.AuthenticatedUser), ct);
        Metrics.Scanned("antispam", scan.Elapsed);
        if (spamRefusal is not null) { Metrics.Rejected("antispam-unavailable"); return spamRefusal; }
        envelope = classified!;
        // Signed last, after every header the gateway adds; only for a domain the tenant owns.
        if (SigningDomain(tenant, transaction.Sender) is { } domain)
        {
            bytes = dkim.Sign(domain, scanned);
            log.LogInformation("{QueueId}: DKIM signed for d={Domain}", queueId, domain);
        }
        if (await rateLimit.TakeAsync(queueId, tenant, ct) is { } limited) { Metrics.Rejected("rate-limit"); return limited; }
        try
        {
            var reply = await intake().Ask<object>(new AcceptMessage(queueId, envelope, bytes), storeTimeout, ct);
            if (reply is MessageStored)
            {
                storage.WriteSucceeded();
                Metrics.Accepted(tenant.Id);
                return new SmtpReply(250, "2.0.0", $"Ok: queued as {queueId}");
            }
            var reason = reply is MessageNotStored n ? n.Reason : reply.ToString()!;
            log.LogWarning("{Session} {QueueId} not stored: {Reason}", session.SessionId, queueId, reason);
            storage.WriteFailed(reason);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            log.LogWarning("{Session} {QueueId} not stored in time: {Error}", session.SessionId, queueId, e.Message);
            if (!ct.IsCancellationRequested) storage.WriteFailed($"not stored within {storeTimeout.TotalSeconds:0} s"); // else the session ended
        }
        Metrics.Rejected("storage");
        return NotStored;
    }

    static ActorGateway.Node.Operations.GatewayMetrics Metrics => ActorGateway.Node.Operations.GatewayMetrics.Instance;

    /// <summary>The sender's domain or its nearest parent that has a key and that the tenant owns.</summary>
    string? SigningDomain(Tenant tenant, string sender)
    {
        for (var d = sender[(sender.LastIndexOf('@') + 1)..]; d.Contains('.'); d = d[(d.IndexOf('.') + 1)..])
            if (dkim.HasKey(d) && tenant.OwnsDomain(d)) return d;
        return null;
    }

    /// <summary>The tenant of the session: its AUTH login if any, else its source network.</summary>
    Tenant? TenantOf(SmtpSessionContext session)
    {
        if (session.Properties is Tenant t) return t;
        var directory = tenants();
        var tenant = session.AuthenticatedUser is { } user ? directory.FindByUser(user) : directory.FindByAddress(session.RemoteAddress);
        session.Properties = tenant;
        return tenant;
    }
}
