using System.Net;

namespace ActorGateway.Smtp.Session;

/// <summary>What is known about the client of one SMTP session; hooks read it to decide.</summary>
public sealed class SmtpSessionContext
{
    public required string SessionId { get; init; }
    public required IPEndPoint RemoteEndPoint { get; init; }
    public required IPEndPoint LocalEndPoint { get; init; }
    public required string EndpointName { get; init; }
    public string? HeloName { get; internal set; }
    public bool IsExtended { get; internal set; }
    public TlsInfo? Tls { get; internal set; }
    /// <summary>The login name after successful SMTP AUTH, else null.</summary>
    public string? AuthenticatedUser { get; internal set; }
    /// <summary>
    /// Free slot for the hooks (e.g. the tenant the client was identified as). Cleared with the
    /// rest of the session state after STARTTLS.
    /// </summary>
    public object? Properties { get; set; }

    public IPAddress RemoteAddress => RemoteEndPoint.Address.IsIPv4MappedToIPv6 ? RemoteEndPoint.Address.MapToIPv4() : RemoteEndPoint.Address;
}

/// <summary>The negotiated TLS parameters of a session.</summary>
public sealed record TlsInfo(string Protocol, string Cipher);
