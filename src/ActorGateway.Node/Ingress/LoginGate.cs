using ActorGateway.Mail.Tenants;
using ActorGateway.Smtp.Protocol;
using ActorGateway.Smtp.Session;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Ingress;

/// <summary>
/// SMTP AUTH against password guessing, like Postfix's smtpd_error_sleep_time plus a
/// fail2ban jail: every failed login is answered only after a penalty delay, and a client
/// address with too many failures within the window is refused at AUTH until its lockout
/// ends. A verified login is remembered (keyed hash only), so a client that logs in on every
/// connection pays the slow password hash once.
/// </summary>
public sealed class LoginGate(LoginFailureCounter failures, VerifiedLoginCache verified, TimeProvider clock, ILogger log)
{
    // 454 4.7.0 is RFC 4954's "temporary authentication failure": clients keep their
    // credentials and try again later, as after Postfix's AUTH rate limit (a 4xx at AUTH,
    // session left open). A client that keeps sending AUTH anyway runs into the bad-command
    // limit and gets 421.
    public static SmtpReply TooManyFailedLogins(string client) => new(454, "4.7.0", $"Too many failed logins from {client}, try again later");

    /// <summary>At AUTH, before the credentials: a refusal while the client's address is locked out.</summary>
    public SmtpReply? Refusal(SmtpSessionContext session)
    {
        if (failures.LockedUntil(session.RemoteAddress) is not { } until) return null;
        log.LogWarning("{Session} AUTH refused: client={Client} locked out until {Until:yyyy-MM-ddTHH:mm:ssZ}", session.SessionId, session.RemoteAddress, until);
        Metrics.Rejected("auth-lockout");
        return TooManyFailedLogins(session.RemoteAddress.ToString());
    }

    /// <summary>The login's tenant, or null after the penalty delay (the failure counted).</summary>
    public async ValueTask<Tenant?> AuthenticateAsync(SmtpSessionContext session, TenantDirectory directory, string user, string password, CancellationToken ct)
    {
        if (directory.Authenticate(user, password, verified) is { } tenant) return tenant;

        var failure = failures.RecordFailure(session.RemoteAddress);
        var limit = failures.Settings;
        if (failure.StartedLockout)
            log.LogWarning("{Session} AUTH failed: client={Client} user={User} failures={Failures} within {Window}: locked out until {Until:yyyy-MM-ddTHH:mm:ssZ}",
                session.SessionId, session.RemoteAddress, user, failure.Failures, limit.Window, failure.LockedUntil);
        else
            log.LogInformation("{Session} AUTH failed: client={Client} user={User} failures={Failures}/{Max} within {Window}",
                session.SessionId, session.RemoteAddress, user, failure.Failures, limit.MaxFailures, limit.Window);
        Metrics.Rejected("auth-failed");
        if (limit.Delay > TimeSpan.Zero) await Task.Delay(limit.Delay, clock, ct);
        return null;
    }

    static Operations.GatewayMetrics Metrics => Operations.GatewayMetrics.Instance;
}
