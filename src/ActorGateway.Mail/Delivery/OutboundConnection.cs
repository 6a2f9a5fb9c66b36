using ActorGateway.Smtp.Protocol;
using System.Net;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using System.Security.Cryptography.X509Certificates;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// One SMTP connection to a receiving server, reused for several messages to the same
/// destination. Sends each message's exact bytes with MailKit and reports every recipient's
/// outcome instead of failing the whole message on the first refused recipient.
/// </summary>
public sealed class OutboundConnection : IAsyncDisposable
{
    readonly RecordingSmtpClient _client;
    // One parser for the connection's messages, which it sends one at a time: its buffers are made once.
    readonly MimeParser _parser = new(Stream.Null, MimeFormat.Entity, persistent: true);
    public NextHop Hop { get; }
    public IPAddress Address { get; }
    public string? Tls => _client.IsEncrypted
        ? $"{_client.SslProtocol} {_client.SslCipherSuite} {(_client.CertificateVerified ? "verified" : "unverified")}{PolicyText}" : null;
    /// <summary>Which policy made TLS mandatory for this connection (None: opportunistic).</summary>
    public TlsPolicySource PolicySource { get; }
    string PolicyText => PolicySource switch
    {
        TlsPolicySource.None => "",
        TlsPolicySource.MtaSts => " policy=mta-sts",
        _ => " policy=" + PolicySource.ToString().ToLowerInvariant(),
    };

    /// <summary>Whether this connection meets a forced-TLS requirement (null: any connection does).</summary>
    public bool Satisfies(TlsRequirement? requirement) => requirement switch
    {
        null => true,
        _ when !requirement.AllowsHost(Hop.Host) => false,
        { Level: TlsLevel.Encrypt } => _client.IsEncrypted,
        _ => _client.IsEncrypted && _client.CertificateVerified,
    };
    public string? SourceAddress { get; }
    public bool IsUsable => _client.IsConnected;

    OutboundConnection(RecordingSmtpClient client, NextHop hop, IPAddress address, string? source, TlsPolicySource policySource)
    { _client = client; Hop = hop; Address = address; SourceAddress = source; PolicySource = policySource; }

    /// <summary>
    /// Connects to the first hop/address that answers, from <paramref name="source"/> if given.
    /// Without a requirement STARTTLS is opportunistic: used when offered, certificate not
    /// checked (RFC 7435). With one, TLS 1.2+ is mandatory, and for Verify the chain and the
    /// host name (the MX name) must check out against <paramref name="trust"/>. TlsFailed tells that TLS was what failed.
    /// A hop with secure TLSA records (DANE) needs TLS as well, its certificate checked against
    /// them instead of the system's trust store (DaneVerifier); DaneFailed tells that DANE was
    /// what failed (no TLS, no match, or no TLSA answer), and the next hop is tried.
    /// </summary>
    public static async Task<(OutboundConnection? Connection, string Error, bool TlsFailed, bool DaneFailed)> ConnectAsync(
        IReadOnlyList<NextHop> hops, IPAddress? source, string heloName, TimeSpan timeout, TlsRequirement? requirement, CancellationToken ct,
        CertificateTrust? trust = null)
    {
        var errors = new List<string>();
        var tlsFailed = false;
        var daneFailed = false;
        foreach (var hop in hops)
        {
            if (hop.Dane is { State: DaneState.LookupFailed } lookupFailed)
            {
                daneFailed = true;
                errors.Add($"{hop.Host}: DANE: {lookupFailed.Detail}");
                continue;
            }
            var dane = hop.Dane is { RequiresTls: true } d ? d : null;
            var mandatory = requirement is not null || dane is not null;
            foreach (var address in hop.Addresses)
            {
                if (source is not null && source.AddressFamily != address.AddressFamily) continue;
                // No Nagle: a message's last segment would otherwise wait for the receiver's delayed ACK.
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    if (source is not null) socket.Bind(new IPEndPoint(source, 0));
                    using var connectCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    connectCts.CancelAfter(timeout);
                    await socket.ConnectAsync(new IPEndPoint(address, hop.Port), connectCts.Token);
                    var client = new RecordingSmtpClient { Timeout = (int)timeout.TotalMilliseconds, LocalDomain = heloName, CheckCertificateRevocation = false };
                    client.ServerCertificateValidationCallback = (_, certificate, chain, errors) =>
                    {
                        if (dane is { State: DaneState.Authenticate } && certificate is not null)
                        {
                            var verdict = DaneVerifier.Verify(dane.Records, new X509Certificate2(certificate), Presented(certificate, chain), dane.Names);
                            client.CertificateVerified = verdict.Verified;
                            client.DaneDetail = verdict.Detail;
                            return verdict.Verified;
                        }
                        client.CertificateVerified = (trust ?? CertificateTrust.SystemOnly).IsTrusted(certificate, chain, errors);
                        return requirement?.Level != TlsLevel.Verify || client.CertificateVerified;
                    };
                    if (mandatory) client.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
                    try
                    {
                        await client.ConnectAsync(socket, hop.Host, hop.Port,
                            mandatory ? SecureSocketOptions.StartTls : SecureSocketOptions.StartTlsWhenAvailable, ct);
                    }
                    catch (Exception e) when (mandatory && e is NotSupportedException or SslHandshakeException or System.Security.Authentication.AuthenticationException)
                    {
                        client.Dispose();
                        if (dane is not null)
                        {
                            daneFailed = true;
                            errors.Add($"{hop.Host}[{address}]:{hop.Port}: DANE ({dane.Detail}): {client.DaneDetail ?? e.Message}");
                        }
                        else
                        {
                            tlsFailed = true;
                            errors.Add($"{hop.Host}[{address}]:{hop.Port}: TLS required by policy {requirement!.Rule}: {e.Message}");
                        }
                        continue;
                    }
                    var policySource = dane is not null ? TlsPolicySource.Dane : requirement?.Source ?? TlsPolicySource.None;
                    return (new OutboundConnection(client, hop, address, source?.ToString(), policySource), "", false, false);
                }
                catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or SmtpProtocolException or SmtpCommandException or SslHandshakeException)
                {
                    socket.Dispose();
                    errors.Add($"{hop.Host}[{address}]:{hop.Port}: {e.Message}");
                }
            }
        }
        return (null, errors.Count == 0 ? "no usable address" : string.Join("; ", errors), tlsFailed, daneFailed);
    }

    /// <summary>The certificates the server presented: its own first, then the others it sent.</summary>
    static IReadOnlyList<X509Certificate2> Presented(X509Certificate certificate, X509Chain? chain)
    {
        var list = new List<X509Certificate2> { new(certificate) };
        if (chain is not null)
            foreach (var c in chain.ChainPolicy.ExtraStore.Concat(chain.ChainElements.Select(e => e.Certificate)))
                if (!list.Any(l => l.RawData.AsSpan().SequenceEqual(c.RawData))) list.Add(c);
        return list;
    }

    public async Task<DeliveryOutcome> SendAsync(DeliveryJob job, CancellationToken ct)
    {
        var remote = $"{Hop.Host}[{Address}]";
        // Intake stores CRLF only; this catches what was queued before it did (and costs no copy otherwise).
        var bytes = BareLineEndingNormalizer.Normalize(WholeArray(job.Message) ?? job.Message.ToArray());
        // Persistent: the parts' contents stay in this stream (read while sending) instead of being copied out of it.
        using var stream = new MemoryStream(bytes, writable: false);
        MimeMessage message;
        try
        {
            _parser.SetStream(stream, MimeFormat.Entity, persistent: true);
            message = await _parser.ParseMessageAsync(ct);
        }
        finally
        {
            _parser.SetStream(Stream.Null); // not to hold the message until the next one
        }

        if (job.RequireTls && RequireTlsCheck.Refusal(_client.IsEncrypted, PolicySource, _client.CertificateVerified,
                _client.Capabilities.HasFlag(SmtpCapabilities.RequireTLS)) is { } refusal)
            return DeliveryOutcome.All(job.Recipients, RecipientStatus.Failed, refusal.StatusCode, $"x-gateway; {refusal.Reason}", remote)
                with { Tls = Tls, SourceAddress = SourceAddress };
        _client.RequireTLS = job.RequireTls;
        _client.Begin(job);
        try
        {
            var sender = job.Sender.Length == 0 ? new MailboxAddress("", "") : new MailboxAddress("", job.Sender);
            var recipients = job.Recipients.Select(r => new MailboxAddress("", r)).ToList();
            var reply = await _client.SendAsync(FormatOptions.Default, message, sender, recipients, ct);
            return Outcomes(job, remote, r => new RecipientOutcome(r, RecipientStatus.Delivered, "2.0.0", "smtp; 250 " + reply, remote));
        }
        catch (NoRecipientsAcceptedException)
        {
            await ResetAsync(ct);
            return Outcomes(job, remote, r => new RecipientOutcome(r, RecipientStatus.Deferred, "4.0.0", "smtp; no reply to RCPT", remote));
        }
        catch (SmtpCommandException e)
        {
            // MAIL FROM or DATA refused: the same answer for every recipient still open.
            await ResetAsync(ct);
            return Outcomes(job, remote, r => Classify(r, (int)e.StatusCode, e.Message, remote));
        }
    }

    /// <summary>The array behind <paramref name="memory"/> when it is all of it (the body as stored), else null.</summary>
    static byte[]? WholeArray(ReadOnlyMemory<byte> memory) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array : null;

    /// <summary>Refused recipients get their RCPT reply; the others <paramref name="otherwise"/>.</summary>
    DeliveryOutcome Outcomes(DeliveryJob job, string remote, Func<string, RecipientOutcome> otherwise) =>
        new(job.Recipients.Select(r => _client.Refused.TryGetValue(r, out var refused)
            ? Classify(r, refused.StatusCode, refused.Response, remote)
            : otherwise(r)).ToArray(), remote, Tls, SourceAddress, PolicySource, _client.IsEncrypted && _client.CertificateVerified);

    async Task ResetAsync(CancellationToken ct)
    {
        try { if (_client.IsConnected) await _client.NoOpAsync(ct); } catch { /* the next use reconnects */ }
    }

    static RecipientOutcome Classify(string recipient, int code, string text, string remote)
    {
        var enhanced = ExtractEnhancedCode(text) ?? (code >= 500 ? "5.0.0" : "4.0.0");
        var status = code is >= 200 and < 300 ? RecipientStatus.Delivered : code >= 500 ? RecipientStatus.Failed : RecipientStatus.Deferred;
        return new RecipientOutcome(recipient, status, enhanced, $"smtp; {code} {text}", remote);
    }

    static string? ExtractEnhancedCode(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b");
        return m.Success ? m.Value.Trim() : null;
    }

    public async ValueTask DisposeAsync()
    {
        try { if (_client.IsConnected) await _client.DisconnectAsync(true); } catch { }
        _client.Dispose();
    }

    sealed class NoRecipientsAcceptedException : Exception;

    /// <summary>MailKit's client, told to record refused recipients instead of throwing.</summary>
    sealed class RecordingSmtpClient : SmtpClient
    {
        public Dictionary<string, (int StatusCode, string Response)> Refused { get; } = new(StringComparer.OrdinalIgnoreCase);
        public bool CertificateVerified { get; set; }
        /// <summary>Why the certificate did or did not match the TLSA records (DANE only).</summary>
        public string? DaneDetail { get; set; }
        DeliveryJob? _job;

        public void Begin(DeliveryJob job) { _job = job; Refused.Clear(); }

        protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
            Refused[mailbox.Address] = ((int)response.StatusCode, response.Response);

        protected override void OnNoRecipientsAccepted(MimeMessage message) => throw new NoRecipientsAcceptedException();

        protected override string? GetEnvelopeId(MimeMessage message) => _job?.EnvelopeId;
    }
}
