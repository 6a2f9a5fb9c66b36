using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Hooks;

/// <summary>Who is this client, and may it authenticate.</summary>
public interface ISmtpAuthenticator
{
    /// <summary>Called once a connection is accepted; a non-null reply (e.g. 554) refuses the client.</summary>
    ValueTask<Protocol.SmtpReply?> OnConnectAsync(SmtpSessionContext session, CancellationToken ct) => ValueTask.FromResult<Protocol.SmtpReply?>(null);

    /// <summary>
    /// Called at AUTH before the credentials are read; a non-null reply (e.g. 454 for a client
    /// locked out after failed logins) refuses this attempt without checking a password.
    /// </summary>
    ValueTask<Protocol.SmtpReply?> CanAuthenticateAsync(SmtpSessionContext session, CancellationToken ct) => ValueTask.FromResult<Protocol.SmtpReply?>(null);

    /// <summary>Checks a login; true means the session is authenticated as <paramref name="user"/>.</summary>
    ValueTask<bool> AuthenticateAsync(SmtpSessionContext session, string user, string password, CancellationToken ct);
}
