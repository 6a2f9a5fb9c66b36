using ActorGateway.Mail.Delivery;
using ActorGateway.Mail.Tenants;
using ActorGateway.Smtp.Hosting;

namespace ActorGateway.Node.Configuration;

public enum StorageProvider { Sqlite, PostgreSql }

/// <summary>Everything under <c>gateway</c> in the HOCON, read once at start-up.</summary>
public sealed record GatewaySettings(
    string DataDirectory,
    string ServerName,
    bool SelfJoin,
    StorageProvider Storage,
    string ConnectionString,
    SmtpServerOptions Smtp,
    TimeSpan StoreTimeout,
    TimeSpan RateLimitTimeout,
    IReadOnlyList<string> DnsServers,
    TimeSpan DnsTimeout,
    DeliverySettings Delivery,
    TimeSpan SweepInterval,
    AntivirusSettings Antivirus,
    AntispamSettings Antispam,
    PoolSettings Pools,
    ActorGateway.Mail.Delivery.TlsPolicy TlsPolicy,
    IReadOnlyList<ActorGateway.Mail.Signing.DkimKey> DkimKeys,
    IReadOnlyList<string> DkimHeaders,
    IReadOnlyList<Tenant> Tenants,
    ActorGateway.Node.Monitor.BlacklistSettings Blacklists,
    ActorGateway.Node.Operations.OperationsSettings Operations,
    RetentionSettings Retention)
{
    public TraceSettings Trace { get; init; } = TraceSettings.Default;
    public ActorGateway.Node.Operations.LogFormat LogFormat { get; init; } = ActorGateway.Node.Operations.LogFormat.Text;
    /// <summary>Failed SMTP AUTH: penalty delay and lockout per client address.</summary>
    public LoginFailureSettings AuthFailures { get; init; } = LoginFailureSettings.Default;
    /// <summary>How many verified logins are remembered; 0 = none.</summary>
    public int AuthCacheSize { get; init; } = 10_000;
    /// <summary>How tenants' delivery events are sent: timeout, back-off, how long an event is kept.</summary>
    public ActorGateway.Node.Events.WebhookSettings Webhooks { get; init; } = ActorGateway.Node.Events.WebhookSettings.Default;
    /// <summary>How many queued messages the sweeper lets into their attempt at once (gateway.queue.active-limit).</summary>
    public int QueueActiveLimit { get; init; } = ActorGateway.Node.Queue.QueueSweeper.DefaultActiveLimit;
    /// <summary>How often the sweeper deletes completed messages from the store (gateway.queue.delete-interval); at most the sweep interval.</summary>
    public TimeSpan QueueDeleteInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The gateway's trace header (per tenant, <see cref="Tenant.TraceHeader"/> overrides the mode)
/// and the hop limit of RFC 5321 6.3: mail with more Received fields is a loop.
/// </summary>
public sealed record TraceSettings(ActorGateway.Smtp.Protocol.TraceMode Mode, int MaxHops)
{
    public static readonly TraceSettings Default = new(ActorGateway.Smtp.Protocol.TraceMode.HideClient, 50);
}

/// <summary>How long delivery records of completed messages are kept, and how often older ones are removed.</summary>
public sealed record RetentionSettings(TimeSpan DeliveryRecords, TimeSpan Interval)
{
    public static readonly RetentionSettings Default = new(TimeSpan.FromDays(7), TimeSpan.FromHours(1));
}

public sealed record DeliverySettings(
    int Port,
    IReadOnlyDictionary<string, string> Routes,
    string HeloName,
    TimeSpan ConnectTimeout,
    TimeSpan CommandTimeout,
    TimeSpan IdleConnectionTimeout,
    RetrySchedule Retry,
    TimeSpan QueueWait,
    DestinationSettings Destination,
    IReadOnlyDictionary<string, DestinationSettings> Destinations,
    IReadOnlyList<DestinationGroup> Groups,
    bool Dane = true)
{
    /// <summary>The most a started delivery may take before it is cut off: connect and three commands' worth.</summary>
    public TimeSpan SendTimeout => ConnectTimeout + CommandTimeout * 3;

    /// <summary>Trust anchors for verifying receiving servers and MTA-STS policy hosts (system store plus tls.ca-file).</summary>
    public ActorGateway.Mail.Delivery.CertificateTrust Trust { get; init; } = ActorGateway.Mail.Delivery.CertificateTrust.SystemOnly;
    public MtaStsSettings MtaSts { get; init; } = MtaStsSettings.Default;
    public TlsRptSettings TlsRpt { get; init; } = TlsRptSettings.Default;
}

/// <summary>
/// Daily TLS reports (RFC 8460) to the policy domains: whether they are sent, when (cron in a time
/// zone), who the report says it is from, and the sender address of mailed reports (empty = derived from the server name).
/// </summary>
public sealed record TlsRptSettings(bool Enabled, string Schedule, string TimeZone, string Organization, string Contact, string Sender)
{
    public static readonly TlsRptSettings Default = new(true, "0 1 * * *", "UTC", "", "", "");
}

/// <summary>Whether recipient domains' MTA-STS policies are applied, and how policies are fetched.</summary>
public sealed record MtaStsSettings(bool Enabled, int PolicyPort, TimeSpan FetchTimeout, int MaxPolicySize)
{
    public static readonly MtaStsSettings Default = new(true, 443, TimeSpan.FromSeconds(10), 65536);
}

/// <summary>
/// Egress source address of each pool on this node (null = the operating system's choice), and
/// how often mail whose pool has no node up checks again.
/// </summary>
public sealed record PoolSettings(string? GoodSource, string? BadSource, TimeSpan WaitInterval);

public sealed record AntispamSettings(string Engine, string RspamdUrl, double Threshold, TimeSpan Timeout, ScannerFailureAction OnFailure,
    IReadOnlyList<ActorGateway.Mail.Scanning.SpamRule> Rules);

public enum ScannerFailureAction { Tempfail, Reject }

public sealed record AntivirusSettings(string Engine, string? SignatureDirectory, string Clamd, TimeSpan Timeout, ScannerFailureAction OnFailure);
