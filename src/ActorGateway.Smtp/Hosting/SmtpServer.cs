using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ActorGateway.Smtp.Hooks;
using ActorGateway.Smtp.Session;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Smtp.Hosting;

/// <summary>
/// The SMTP server behind Kestrel's connection handlers: admits connections within the
/// limits, runs one <see cref="SmtpSession"/> per connection, and shuts down gracefully.
/// </summary>
public sealed class SmtpServer
{
    readonly SmtpServerOptions _options;
    readonly SmtpHooks _hooks;
    readonly ILogger _log;
    readonly ConnectionLimiter _limiter;
    readonly Dictionary<SmtpEndpointOptions, X509Certificate2?> _certificates;
    readonly ConcurrentDictionary<SmtpSession, byte> _sessions = new();
    readonly Timer _deadlines;
    volatile bool _stopping;

    public SmtpServer(SmtpServerOptions options, SmtpHooks hooks, ILoggerFactory loggerFactory)
    {
        _options = options; _hooks = hooks;
        _log = loggerFactory.CreateLogger("ActorGateway.Smtp");
        _limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerClient);
        // Certificates are loaded at start so a bad path is a start-up error, not a failed handshake.
        _certificates = options.Endpoints.ToDictionary(e => e, ServerCertificate.Load);
        foreach (var e in options.Endpoints)
            if (e.ImplicitTls && _certificates[e] is null)
                throw new InvalidOperationException($"SMTP endpoint '{e.Name}' uses implicit TLS but has no certificate");
        _deadlines = new Timer(_ => CheckDeadlines(), null, DeadlineSweep, DeadlineSweep);
    }

    // Timeouts are enforced to within this interval.
    static readonly TimeSpan DeadlineSweep = TimeSpan.FromMilliseconds(250);

    void CheckDeadlines()
    {
        var now = Environment.TickCount64;
        foreach (var session in _sessions.Keys) session.CheckDeadline(now);
    }

    public SmtpServerOptions Options => _options;
    public int OpenSessions => _limiter.Open;

    /// <summary>Stop taking new work: idle sessions get 421 now, transactions in flight finish.</summary>
    public void BeginShutdown()
    {
        _stopping = true;
        foreach (var session in _sessions.Keys) session.RequestStop();
    }

    public async Task HandleConnectionAsync(ConnectionContext connection, SmtpEndpointOptions endpoint)
    {
        var remote = connection.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        var local = connection.LocalEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        var client = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;

        if (_limiter.TryAcquire(client) is { } refusal)
        {
            _log.LogWarning("connection from {Client} refused: {Reply}", remote, refusal);
            refusal.WriteTo(connection.Transport.Output);
            await connection.Transport.Output.FlushAsync();
            return;
        }
        var context = new SmtpSessionContext
        {
            SessionId = NewSessionId(), RemoteEndPoint = remote, LocalEndPoint = local, EndpointName = endpoint.Name,
        };
        var session = new SmtpSession(context, connection.Transport, _options, endpoint, _hooks, _certificates[endpoint], _log);
        _sessions[session] = 0;
        try
        {
            if (_stopping) session.RequestStop();
            await session.RunAsync();
        }
        finally
        {
            _sessions.TryRemove(session, out _);
            await session.DisposeAsync();
            _limiter.Release(client);
        }
    }

    // Unique enough to follow a session through the logs; it guards nothing, so no CSPRNG call per connection.
    static string NewSessionId() => Random.Shared.NextInt64(1L << 40).ToString("X10");
}
