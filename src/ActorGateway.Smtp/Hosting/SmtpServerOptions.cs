namespace ActorGateway.Smtp.Hosting;

/// <summary>Limits and identity of the SMTP server; every limit is crossed by a test.</summary>
public sealed record SmtpServerOptions
{
    /// <summary>Name in the greeting, EHLO reply and Received headers.</summary>
    public string ServerName { get; init; } = System.Net.Dns.GetHostName();
    public string Banner { get; init; } = "ESMTP ActorGateway";
    public IReadOnlyList<SmtpEndpointOptions> Endpoints { get; init; } = [new()];

    public long MaxMessageSize { get; init; } = 25 * 1024 * 1024;
    public int MaxRecipients { get; init; } = 100;
    /// <summary>RFC 5321 4.5.3.1.4: 512 octets including CRLF.</summary>
    public int MaxCommandLineLength { get; init; } = 512;
    /// <summary>RFC 4954 4: AUTH lines may be up to 12288 octets.</summary>
    public int MaxAuthLineLength { get; init; } = 12288;
    /// <summary>RFC 5321 4.5.3.1.6: 1000 octets including CRLF.</summary>
    public int MaxTextLineLength { get; init; } = 1000;
    /// <summary>Extra octets tolerated beyond <see cref="MaxTextLineLength"/> for sloppy clients.</summary>
    public int TextLineTolerance { get; init; }
    /// <summary>NOOP/RSET/VRFY/HELP/HELO/EHLO allowed between accepted messages before 421.</summary>
    public int MaxJunkCommands { get; init; } = 100;
    /// <summary>Syntax, sequence, unknown-command and failed AUTH replies allowed before 421.</summary>
    public int MaxBadCommands { get; init; } = 20;
    /// <summary>Time a client has to send one complete command line (RFC 5321 4.5.3.2: at least 5 minutes).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Longest silence while receiving message data (RFC 5321 4.5.3.2.6: 3 minutes).</summary>
    public TimeSpan DataTimeout { get; init; } = TimeSpan.FromMinutes(3);
    public int MaxConnections { get; init; } = 1000;
    public int MaxConnectionsPerClient { get; init; } = 50;
    /// <summary>
    /// Share of <see cref="MaxConnections"/> at which stress mode begins (see <see cref="StressMode"/>);
    /// 0 turns stress mode off.
    /// </summary>
    public double StressThreshold { get; init; } = 0.8;
    /// <summary>Command timeout while under stress (Postfix: smtpd_timeout 10s under stress).</summary>
    public TimeSpan StressCommandTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Data timeout while under stress.</summary>
    public TimeSpan StressDataTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// At <see cref="MaxConnections"/>, a new client is admitted by closing the session that has
    /// waited longest for a command, if it has waited at least this long; null: the new client gets 421.
    /// </summary>
    public TimeSpan? EvictIdleAfter { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>One listener: address, port, TLS and AUTH policy.</summary>
public sealed record SmtpEndpointOptions
{
    public string Name { get; init; } = "smtp";
    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 2525;
    /// <summary>TLS from the first byte (submissions, RFC 8314) instead of STARTTLS.</summary>
    public bool ImplicitTls { get; init; }
    /// <summary>PEM certificate (with <see cref="KeyPath"/>) or a PFX/PKCS#12 file; enables STARTTLS.</summary>
    public string? CertificatePath { get; init; }
    public string? KeyPath { get; init; }
    /// <summary>Password of a PFX file, read from this environment variable.</summary>
    public string? CertificatePasswordEnv { get; init; }
    /// <summary>Clients must authenticate before MAIL.</summary>
    public bool AuthRequired { get; init; }
    /// <summary>Offer AUTH over an unencrypted connection (tests, trusted networks only).</summary>
    public bool AllowAuthWithoutTls { get; init; }
    /// <summary>Bare CR or LF in a message (RFC 5321 2.3.8): made CRLF, or the message refused.</summary>
    public ActorGateway.Smtp.Protocol.BareLineEndingPolicy BareLineEndings { get; init; }
}
