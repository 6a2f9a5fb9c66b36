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
    IReadOnlyList<string> DnsServers,
    TimeSpan DnsTimeout,
    DeliverySettings Delivery,
    TimeSpan SweepInterval,
    AntivirusSettings Antivirus,
    IReadOnlyList<Tenant> Tenants);

public sealed record DeliverySettings(
    int Port,
    IReadOnlyDictionary<string, string> Routes,
    string HeloName,
    TimeSpan ConnectTimeout,
    TimeSpan CommandTimeout,
    TimeSpan IdleConnectionTimeout,
    RetrySchedule Retry,
    string? SourceAddress);

public enum ScannerFailureAction { Tempfail, Reject }

public sealed record AntivirusSettings(string Engine, string? SignatureDirectory, string Clamd, TimeSpan Timeout, ScannerFailureAction OnFailure);
