using ActorGateway.Mail.Tenants;
using ActorGateway.Node.RateLimit;
using ActorGateway.Smtp.Protocol;
using Akka.Actor;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Ingress;

/// <summary>
/// The cluster-wide rate limit at the SMTP door, for tenants that have it enabled (off by
/// default). At MAIL FROM a full window refuses at once, before the client sends the body;
/// the permit itself is taken at the end of DATA, after the scans, right before the message
/// is stored, so only accepted messages count. When the limiter cannot be asked in time (its
/// node just died and the entity is moving), the client is told to retry: never a silent pass.
/// </summary>
public sealed class RateLimitGate(Func<IActorRef> region, RateLimitOverrides overrides, TimeSpan timeout, ILogger log)
{
    public static readonly SmtpReply RateLimitReached = new(451, "4.7.1", "Ratelimit reached");
    public static readonly SmtpReply LimiterUnavailable = new(451, "4.3.0", "Rate limit cannot be checked now, try again later");

    /// <summary>At MAIL FROM: null when the tenant may go on.</summary>
    public Task<SmtpReply?> CheckAsync(string session, Tenant tenant, CancellationToken ct) =>
        overrides.LimitOf(tenant) is { } perMinute ? AskAsync(session, tenant, new CheckRateLimit(tenant.Id, perMinute), ct) : Task.FromResult<SmtpReply?>(null);

    /// <summary>At the end of DATA: null when the message is counted and may be stored.</summary>
    public Task<SmtpReply?> TakeAsync(string queueId, Tenant tenant, CancellationToken ct) =>
        overrides.LimitOf(tenant) is { } perMinute ? AskAsync(queueId, tenant, new TakePermit(tenant.Id, perMinute, queueId), ct) : Task.FromResult<SmtpReply?>(null);

    async Task<SmtpReply?> AskAsync(string context, Tenant tenant, IRateLimitCommand command, CancellationToken ct)
    {
        try
        {
            var answer = await region().Ask<RateLimitAnswer>(command, timeout, ct);
            if (answer.Allowed) return null;
            ActorGateway.Node.Operations.GatewayMetrics.Instance.RateLimited(tenant.Id);
            log.LogInformation("{Context} tenant={Tenant} refused: rate limit {Used}/{Limit} per minute reached, room again in {RetryAfter:0}s",
                context, tenant.Id, answer.Used, answer.PerMinute, answer.RetryAfter.TotalSeconds);
            return RateLimitReached;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            log.LogWarning("{Context} tenant={Tenant} deferred: rate limiter did not answer in time", context, tenant.Id);
            return LimiterUnavailable;
        }
    }
}
