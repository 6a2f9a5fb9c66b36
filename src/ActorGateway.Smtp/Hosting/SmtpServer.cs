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
    readonly StressMode _stress;
    readonly Dictionary<SmtpEndpointOptions, X509Certificate2?> _certificates;
    readonly ConcurrentDictionary<SmtpSession, byte> _sessions = new();
    readonly Timer _deadlines;
    volatile bool _stopping;

    public SmtpServer(SmtpServerOptions options, SmtpHooks hooks, ILoggerFactory loggerFactory)
    {
        _options = options; _hooks = hooks;
        _log = loggerFactory.CreateLogger("ActorGateway.Smtp");
        _limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerClient);
        _stress = new StressMode(options);
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
        UpdateStress();
        var now = Environment.TickCount64;
        var timeouts = _stress.Current;
        foreach (var session in _sessions.Keys) session.CheckDeadline(now, timeouts);
    }

    void UpdateStress()
    {
        var open = _limiter.Open;
        if (_stress.Update(open))
            _log.LogWarning(_stress.Active
                ? "stress mode on: {Open} connections open (threshold {Threshold}), timeouts shortened"
                : "stress mode off: {Open} connections open (threshold {Threshold})", open, _stress.Threshold);
    }

    /// <summary>
    /// Makes room for a new client at max-connections by closing the session that has waited
    /// longest for a command. Idle connections cost the server little but an attacker can hold
    /// all of them; stress timeouts alone free a slot only every few seconds, and an attacker who
    /// reconnects at once wins that race, so a real client would still meet 421. Evicting the
    /// longest-idle session admits the real client at once; a session in DATA is never chosen.
    /// </summary>
    bool EvictIdleSession()
    {
        if (_options.EvictIdleAfter is not { } minIdle) return false;
        var idleBefore = Environment.TickCount64 - (long)minIdle.TotalMilliseconds;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            SmtpSession? oldest = null;
            var oldestSince = long.MaxValue;
            foreach (var session in _sessions.Keys)
                if (session.IdleSince is { } since && since <= idleBefore && since < oldestSince) { oldest = session; oldestSince = since; }
            if (oldest is null) return false;
            if (oldest.TryEvict()) return true;
            // Another new client took that one, or it woke up: look again.
        }
        return false;
    }

    public SmtpServerOptions Options => _options;
    public int OpenSessions => _limiter.Open;
    /// <summary>Whether the server is in stress mode (short timeouts).</summary>
    public bool UnderStress => _stress.Active;

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

        if (_limiter.TryAcquire(client, EvictIdleSession) is { } refusal)
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
        UpdateStress();
        var session = new SmtpSession(context, connection.Transport, _options, _stress, endpoint, _hooks, _certificates[endpoint], _log);
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
            UpdateStress();
        }
    }

    // Unique enough to follow a session through the logs; it guards nothing, so no CSPRNG call per connection.
    static string NewSessionId() => Random.Shared.NextInt64(1L << 40).ToString("X10");
}
