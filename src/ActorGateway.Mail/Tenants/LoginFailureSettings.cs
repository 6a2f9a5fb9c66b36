namespace ActorGateway.Mail.Tenants;

/// <summary>
/// Limits on failed SMTP AUTH attempts per client address: <see cref="MaxFailures"/> within
/// <see cref="Window"/> lock the address out of AUTH for <see cref="Lockout"/>; every failure
/// is answered only after <see cref="Delay"/>. At most <see cref="MaxClients"/> addresses are
/// tracked at once.
/// </summary>
public sealed record LoginFailureSettings(int MaxFailures, TimeSpan Window, TimeSpan Lockout, TimeSpan Delay, int MaxClients)
{
    public static readonly LoginFailureSettings Default = new(5, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(1), 10_000);
}
