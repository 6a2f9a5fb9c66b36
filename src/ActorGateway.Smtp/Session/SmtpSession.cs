using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ActorGateway.Smtp.Hooks;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Protocol;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Smtp.Session;

/// <summary>
/// One SMTP session (RFC 5321) over a pair of pipes: reads commands, asks the hooks, writes
/// replies. Owns the session state and the current mail transaction; knows nothing of Akka.
/// </summary>
sealed class SmtpSession : IAsyncDisposable
{
    enum Next { Continue, Close }
    enum ReadOutcome { Ok, Closed, TimedOut, ShuttingDown, Evicted }
    enum Wait { Command, Data }

    readonly SmtpServerOptions _options;
    readonly StressMode _timeouts;
    readonly SmtpEndpointOptions _endpoint;
    readonly SmtpHooks _hooks;
    readonly X509Certificate2? _certificate;
    readonly ILogger _log;
    readonly IDuplexPipe _transport;
    readonly SmtpInput _input;
    // The pending read: when its clock started (Environment.TickCount64) shifted left by one, with
    // the low bit set for data; long.MaxValue when none. One field, so the sweep reads both at once.
    long _wait = long.MaxValue;
    int _evicted;
    byte[] _line;
    PipeWriter _writer;
    SslStream? _ssl;
    volatile bool _timedOut, _stopping, _interruptible;

    // The current mail transaction.
    MailFromCommand? _mail;
    readonly List<SmtpRecipient> _recipients = [];
    readonly MessageBody _body = new();
    readonly BareLineEndingNormalizer _bareLineEndings = new(); // BDAT chunks; DATA finds bare line endings as it splits lines
    bool _chunking;       // BDAT chunks are being received
    bool _chunkingFailed; // a BDAT chunk crossed the size limit: the rest is discarded

    int _junkCommands, _badCommands, _messages;

    public SmtpSessionContext Context { get; }

    public SmtpSession(SmtpSessionContext context, IDuplexPipe transport, SmtpServerOptions options, StressMode timeouts,
        SmtpEndpointOptions endpoint, SmtpHooks hooks, X509Certificate2? certificate, ILogger log)
    {
        Context = context; _transport = transport; _options = options; _timeouts = timeouts; _endpoint = endpoint;
        _hooks = hooks; _certificate = certificate; _log = log;
        _writer = transport.Output;
        _input = new SmtpInput(transport.Input, () => FlushAsync());
        // Command-sized: an idle session should cost little; AUTH lines get a larger one when needed.
        _line = ArrayPool<byte>.Shared.Rent(options.MaxCommandLineLength);
    }

    bool AuthOffered => _endpoint.AllowAuthWithoutTls || Context.Tls is not null;
    bool StartTlsOffered => _certificate is not null && Context.Tls is null;

    /// <summary>
    /// Called every sweep by the server for every session, with the timeouts of the moment: a read
    /// past its deadline is cancelled. One sweep for all sessions is cheaper than a timer change on every read.
    /// </summary>
    public void CheckDeadline(long now, SessionTimeouts timeouts)
    {
        var wait = Volatile.Read(ref _wait);
        if (wait == long.MaxValue || !Expired(wait >> 1, (wait & 1) == 0 ? Wait.Command : Wait.Data, now, timeouts)) return;
        _timedOut = true;
        _input.CancelPendingRead();
    }

    /// <summary>Since when (Environment.TickCount64) the session has been waiting for a command; null when it is not.</summary>
    public long? IdleSince
    {
        get
        {
            var wait = Volatile.Read(ref _wait);
            return wait == long.MaxValue || (wait & 1) == 1 || Volatile.Read(ref _evicted) == 1 ? null : wait >> 1;
        }
    }

    /// <summary>
    /// Closes the session with 421 to make room for a new client, if it is still waiting for a
    /// command and nobody evicted it first.
    /// </summary>
    public bool TryEvict()
    {
        if (IdleSince is null || Interlocked.Exchange(ref _evicted, 1) == 1) return false;
        _input.CancelPendingRead();
        return true;
    }

    static bool Expired(long started, Wait kind, long now, SessionTimeouts timeouts) =>
        now - started > (long)(kind == Wait.Command ? timeouts.Command : timeouts.Data).TotalMilliseconds;

    /// <summary>Graceful shutdown: a session waiting for a command outside a transaction gets 421 now.</summary>
    public void RequestStop()
    {
        _stopping = true;
        if (_interruptible) _input.CancelPendingRead();
    }

    public async Task RunAsync()
    {
        if (_log.IsEnabled(LogLevel.Information))
            _log.LogInformation("{Session} connect from {Client} on {Endpoint}", Context.SessionId, Context.RemoteEndPoint, Context.EndpointName);
        try
        {
            if (_endpoint.ImplicitTls && !await StartTlsAsync()) return;

            var refusal = _stopping ? SmtpReply.ServiceShuttingDown : await _hooks.Authenticator.OnConnectAsync(Context, CancellationToken.None);
            if (refusal is not null)
            {
                _log.LogInformation("{Session} refused at connect: {Reply}", Context.SessionId, refusal);
                Write(refusal);
                return;
            }
            Write(new SmtpReply(220, null, $"{_options.ServerName} {_options.Banner}"));

            while (true)
            {
                var (outcome, length, tooLong) = await ReadLineAsync(_options.MaxCommandLineLength);
                if (outcome != ReadOutcome.Ok) { EndOnRead(outcome); return; }
                if (tooLong) { if (Respond(SmtpReply.LineTooLong) == Next.Close) return; continue; }
                if (!SmtpCommandLine.TryParse(_line.AsSpan(0, length), out var command))
                {
                    if (Respond(new SmtpReply(500, "5.5.2", "Syntax error, command unrecognized")) == Next.Close) return;
                    continue;
                }
                if (await ExecuteAsync(command) == Next.Close) return;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException
                                       or Microsoft.AspNetCore.Connections.ConnectionResetException or AuthenticationException)
        {
            _log.LogInformation("{Session} connection lost: {Error}", Context.SessionId, ex.Message);
        }
        finally
        {
            try { await FlushAsync(); } catch { /* the peer is gone */ }
            if (_log.IsEnabled(LogLevel.Information))
                _log.LogInformation("{Session} disconnect from {Client}: {Messages} message(s) accepted", Context.SessionId, Context.RemoteEndPoint, _messages);
        }
    }

    void EndOnRead(ReadOutcome outcome)
    {
        switch (outcome)
        {
            case ReadOutcome.TimedOut:
                _log.LogInformation("{Session} timeout, closing", Context.SessionId);
                Write(SmtpReply.Timeout); break;
            case ReadOutcome.ShuttingDown:
                Write(SmtpReply.ServiceShuttingDown); break;
            case ReadOutcome.Evicted:
                _log.LogInformation("{Session} idle at max-connections, closing", Context.SessionId);
                Write(SmtpReply.IdleSessionEvicted(_options.ServerName)); break;
        }
    }

    async ValueTask<Next> ExecuteAsync(SmtpCommandLine command)
    {
        switch (command.Verb)
        {
            case "EHLO": return Helo(command.Argument, extended: true);
            case "HELO": return Helo(command.Argument, extended: false);
            case "MAIL": return await MailAsync(command.Argument);
            case "RCPT": return await RcptAsync(command.Argument);
            case "DATA": return await DataAsync(command.Argument);
            case "BDAT": return await BdatAsync(command.Argument);
            case "RSET":
                if (command.Argument.Length > 0) return Respond(SmtpReply.Syntax("RSET"));
                ResetTransaction();
                return Junk(SmtpReply.Ok);
            case "NOOP": return Junk(SmtpReply.Ok);
            case "VRFY":
                return command.Argument.Length == 0 ? Respond(SmtpReply.Syntax("VRFY address")) : Junk(SmtpReply.CannotVerify);
            case "HELP":
                return Junk(new SmtpReply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"));
            case "QUIT":
                Write(SmtpReply.Bye);
                return Next.Close;
            case "STARTTLS": return await StartTlsCommandAsync(command.Argument);
            case "AUTH": return await AuthAsync(command.Argument);
            case "EXPN" or "ETRN" or "TURN" or "SEND" or "SOML" or "SAML":
                return Respond(new SmtpReply(502, "5.5.1", "Command not implemented"));
            default:
                return Respond(SmtpReply.UnknownCommand);
        }
    }

    // ---- HELO / EHLO ----------------------------------------------------------------

    Next Helo(string argument, bool extended)
    {
        var name = argument.Trim();
        if (name.Length == 0 || name.Contains(' '))
            return Respond(SmtpReply.Syntax(extended ? "EHLO hostname" : "HELO hostname"));
        ResetTransaction();
        Context.HeloName = name;
        Context.IsExtended = extended;
        var greeting = $"{_options.ServerName} Hello {name} [{Context.RemoteAddress}]";
        if (!extended) return Junk(new SmtpReply(250, null, greeting));

        var lines = new List<string> { greeting, "PIPELINING", $"SIZE {_options.MaxMessageSize}", "8BITMIME", "SMTPUTF8",
                                       "ENHANCEDSTATUSCODES", "CHUNKING", "DSN" };
        if (StartTlsOffered) lines.Add("STARTTLS");
        // RFC 8689 3: offered only where the session itself is encrypted.
        if (Context.Tls is not null) lines.Add("REQUIRETLS");
        if (AuthOffered && Context.AuthenticatedUser is null) lines.Add("AUTH PLAIN LOGIN");
        lines.Add("HELP");
        return Junk(new SmtpReply(250, null, lines));
    }

    // ---- MAIL / RCPT ----------------------------------------------------------------

    async ValueTask<Next> MailAsync(string argument)
    {
        if (Context.HeloName is null) return Respond(SmtpReply.HeloFirst);
        if (_mail is not null || _chunking) return Respond(SmtpReply.NestedMail);
        if (_endpoint.AuthRequired && Context.AuthenticatedUser is null) return Respond(SmtpReply.AuthRequired);
        if (!MailFromCommand.TryParse(argument, out var mail, out var error)) return Respond(error);
        if (mail.RequireTls && Context.Tls is null) return Respond(SmtpReply.RequireTlsWithoutTls);
        if (mail.DeclaredSize > _options.MaxMessageSize) return Respond(SmtpReply.MessageTooBig);

        var reply = await _hooks.EnvelopeFilter.CanSendFromAsync(Context, mail, CancellationToken.None);
        if (reply.IsPositive) _mail = mail;
        else _log.LogInformation("{Session} MAIL FROM {Sender} rejected: {Reply}", Context.SessionId, mail.Sender, reply);
        return Respond(reply);
    }

    async ValueTask<Next> RcptAsync(string argument)
    {
        if (_mail is null) return Respond(SmtpReply.NeedMail);
        if (_recipients.Count >= _options.MaxRecipients) return Respond(SmtpReply.TooManyRecipients);
        if (!RcptToCommand.TryParse(argument, _mail.SmtpUtf8, out var rcpt, out var error)) return Respond(error);

        var reply = await _hooks.EnvelopeFilter.CanDeliverToAsync(Context, _mail, rcpt, CancellationToken.None);
        if (reply.IsPositive) _recipients.Add(new SmtpRecipient(rcpt.Recipient.Address, rcpt.Notify, rcpt.OriginalRecipient));
        else _log.LogInformation("{Session} RCPT TO {Recipient} rejected: {Reply}", Context.SessionId, rcpt.Recipient, reply);
        return Respond(reply);
    }

    // ---- DATA -----------------------------------------------------------------------

    async ValueTask<Next> DataAsync(string argument)
    {
        if (argument.Length > 0) return Respond(SmtpReply.Syntax("DATA"));
        if (_mail is null || _chunking) return Respond(_chunking ? SmtpReply.BadSequence : SmtpReply.NeedMail);
        if (_recipients.Count == 0) return Respond(SmtpReply.NoValidRecipients);

        Write(SmtpReply.StartData);
        var (outcome, problem) = await ReceiveDataAsync();
        if (outcome != ReadOutcome.Ok)
        {
            _log.LogInformation("{Session} DATA from {Sender} abandoned: {Outcome}", Context.SessionId, _mail.Sender, outcome);
            EndOnRead(outcome == ReadOutcome.ShuttingDown ? ReadOutcome.Closed : outcome);
            return Next.Close;
        }
        if (problem is not null)
        {
            _log.LogInformation("{Session} message from {Sender} refused: {Reply}", Context.SessionId, _mail.Sender, problem);
            ResetTransaction();
            return Respond(problem);
        }
        return Respond(await SaveAsync());
    }

    /// <summary>
    /// Reads the text after 354 up to CRLF.CRLF, undoing dot-stuffing (RFC 5321 4.5.2). Only a
    /// "." line between two CRLFs ends the data, so a bare CR or LF can never smuggle an
    /// end-of-data marker. A bare CR or LF ends a line otherwise (line length, dot-stuffing) and
    /// is stored as CRLF, or refuses the message, as the listener says. Oversized lines and
    /// messages are read to the end and discarded, then refused.
    /// </summary>
    /// <remarks>
    /// One search per line for CR or LF, as a search for CRLF would be, and one copy into the
    /// body: text with CRLF only costs no more than before normalization.
    /// </remarks>
    async ValueTask<(ReadOutcome, SmtpReply?)> ReceiveDataAsync()
    {
        var maxLine = _options.MaxTextLineLength + _options.TextLineTolerance;
        var reject = _endpoint.BareLineEndings == BareLineEndingPolicy.Reject;
        SmtpReply? problem = null;
        var midLine = false;   // the buffer starts inside a line whose start was discarded
        var afterCrLf = true;  // the current line follows a CRLF (or the 354): only then can "." end the data
        var started = Environment.TickCount64;
        while (true)
        {
            var reader = new SequenceReader<byte>(_input.Buffer);
            while (reader.TryReadToAny(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: false))
            {
                reader.TryRead(out var first);
                BareLineEnding bare;
                if (first == (byte)'\n') bare = BareLineEnding.Lf;
                else if (!reader.TryPeek(out var next)) { reader.Rewind(line.Length + 1); break; } // the next byte decides
                else if (next == (byte)'\n') { reader.Advance(1); bare = BareLineEnding.None; }
                else bare = BareLineEnding.Cr;

                started = Environment.TickCount64; // a complete line is progress
                if (bare == BareLineEnding.None && afterCrLf && !midLine && line.Length == 1 && StartsWithDot(line))
                {
                    _input.Consume(reader.Position);
                    return (ReadOutcome.Ok, problem);
                }
                if (bare != BareLineEnding.None && reject) problem ??= SmtpReply.BareLineEndingRefused(bare);
                if (midLine || line.Length + 2 > maxLine) problem ??= SmtpReply.DataLineTooLong;
                else
                {
                    // A lone "." here is not the end of data (a bare line ending is next to it): kept as text.
                    var content = line.Length > 1 && StartsWithDot(line) ? line.Slice(1) : line;
                    if (_body.Length + content.Length + 2 > _options.MaxMessageSize) problem ??= SmtpReply.MessageTooBig;
                    if (problem is null) { _body.Append(content); _body.Append("\r\n"u8); }
                }
                midLine = false;
                afterCrLf = bare == BareLineEnding.None;
            }
            _input.Consume(reader.Position);

            // An incomplete line longer than allowed: drop it but keep a trailing CR that may begin CRLF.
            var rest = _input.Buffer;
            if (rest.Length > maxLine)
            {
                problem ??= SmtpReply.DataLineTooLong;
                _input.Consume(rest.Length - 1);
                midLine = true;
            }

            var outcome = await FillAsync(started, Wait.Data, interruptible: false);
            if (outcome != ReadOutcome.Ok) return (outcome, null);
        }
    }

    static bool StartsWithDot(in ReadOnlySequence<byte> line) =>
        line.FirstSpan is [(byte)'.', ..] || (line.FirstSpan.IsEmpty && new SequenceReader<byte>(line).TryPeek(out var b) && b == (byte)'.');

    // ---- BDAT (RFC 3030) --------------------------------------------------------------

    async ValueTask<Next> BdatAsync(string argument)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || !long.TryParse(parts[0], System.Globalization.NumberStyles.None, null, out var size)
            || (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            // Without a size the chunk cannot be skipped: the session cannot continue in sync.
            Respond(SmtpReply.Syntax("BDAT size [LAST]"));
            return Next.Close;
        }
        var last = parts.Length == 2;

        // The chunk is read in every case (RFC 3030 2): refusing a command does not stop its data.
        SmtpReply? refusal = null;
        if (_mail is null) refusal = SmtpReply.NeedMail;
        else if (_recipients.Count == 0) refusal = SmtpReply.NoValidRecipients;
        var keep = refusal is null && !_chunkingFailed && _body.Length + size <= _options.MaxMessageSize;
        if (refusal is null && !keep) _chunkingFailed = true;

        var outcome = await ReadChunkAsync(size, keep);
        if (outcome != ReadOutcome.Ok)
        {
            EndOnRead(outcome == ReadOutcome.ShuttingDown ? ReadOutcome.Closed : outcome);
            return Next.Close;
        }
        if (refusal is not null) return Respond(refusal);

        _chunking = true;
        if (last && keep) _bareLineEndings.Complete(_body);
        if (keep && _body.Length > _options.MaxMessageSize) _chunkingFailed = true; // grown by normalized line endings
        if (last && !_chunkingFailed && _bareLineEndings.Found != BareLineEnding.None && _endpoint.BareLineEndings == BareLineEndingPolicy.Reject)
        {
            var refused = SmtpReply.BareLineEndingRefused(_bareLineEndings.Found);
            _log.LogInformation("{Session} message from {Sender} refused: {Reply}", Context.SessionId, _mail!.Sender, refused);
            ResetTransaction();
            return Respond(refused);
        }
        if (_chunkingFailed)
        {
            if (!last) return Respond(SmtpReply.MessageTooBig);
            _log.LogInformation("{Session} message from {Sender} refused: too big", Context.SessionId, _mail!.Sender);
            ResetTransaction();
            return Respond(SmtpReply.MessageTooBig);
        }
        if (!last) return Respond(new SmtpReply(250, "2.0.0", $"{size} octets received"));
        return Respond(await SaveAsync());
    }

    async ValueTask<ReadOutcome> ReadChunkAsync(long size, bool keep)
    {
        var remaining = size;
        var started = Environment.TickCount64;
        long sinceProgress = 0;
        while (remaining > 0)
        {
            var buffer = _input.Buffer;
            if (!buffer.IsEmpty)
            {
                var take = Math.Min(remaining, buffer.Length);
                if (keep) foreach (var segment in buffer.Slice(0, take)) _bareLineEndings.Append(segment.Span, _body);
                _input.Consume(take);
                remaining -= take;
                // Progress is a text line's worth of octets, as for DATA.
                if ((sinceProgress += take) >= _options.MaxTextLineLength) { sinceProgress = 0; started = Environment.TickCount64; }
                continue;
            }
            var outcome = await FillAsync(started, Wait.Data, interruptible: false);
            if (outcome != ReadOutcome.Ok) return outcome;
        }
        return ReadOutcome.Ok;
    }

    // ---- Store ------------------------------------------------------------------------

    async ValueTask<SmtpReply> SaveAsync()
    {
        var mail = _mail!;
        var transaction = new SmtpTransaction(mail.Sender.Address, _recipients.ToArray(), mail.Body, mail.SmtpUtf8,
            mail.Return, mail.EnvelopeId, DateTimeOffset.UtcNow, mail.RequireTls);
        SmtpReply reply;
        try
        {
            reply = await _hooks.Store.SaveAsync(Context, transaction, _body, CancellationToken.None);
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "{Session} storing the message failed", Context.SessionId);
            reply = SmtpReply.LocalError;
        }
        if (_log.IsEnabled(LogLevel.Information))
            _log.LogInformation("{Session} message from <{Sender}> to {Recipients} recipient(s), {Size} octets, tls={Tls}, user={User}: {Reply}",
            Context.SessionId, transaction.Sender, transaction.Recipients.Count, _body.Length,
            Context.Tls?.Protocol ?? "none", Context.AuthenticatedUser ?? "-", reply);
        if (reply.IsPositive) { _messages++; _junkCommands = 0; }
        ResetTransaction();
        return reply;
    }

    void ResetTransaction()
    {
        _mail = null;
        _recipients.Clear();
        _body.Clear();
        _bareLineEndings.Reset();
        _chunking = false;
        _chunkingFailed = false;
    }

    // ---- STARTTLS (RFC 3207) ----------------------------------------------------------

    async ValueTask<Next> StartTlsCommandAsync(string argument)
    {
        if (argument.Length > 0) return Respond(SmtpReply.Syntax("STARTTLS"));
        if (Context.Tls is not null) return Respond(SmtpReply.AlreadyTls);
        if (_certificate is null) return Respond(SmtpReply.TlsNotAvailable);

        Write(SmtpReply.ReadyToStartTls);
        await FlushAsync();
        // Anything the client sent after STARTTLS in clear text must not be executed (CVE-2011-0411).
        var injected = _input.DiscardBuffered();
        if (injected > 0)
            _log.LogWarning("{Session} discarded {Bytes} octets pipelined after STARTTLS", Context.SessionId, injected);
        if (!await StartTlsAsync()) return Next.Close;

        // RFC 3207 4.2: forget everything learned from the client before TLS.
        ResetTransaction();
        Context.HeloName = null;
        Context.IsExtended = false;
        Context.AuthenticatedUser = null;
        Context.Properties = null; // what the hooks derived from the client before TLS goes too
        return Next.Continue;
    }

    async ValueTask<bool> StartTlsAsync()
    {
        if (_certificate is null) return false;
        _input.DiscardBuffered();
        _ssl = new SslStream(new DuplexPipeStream(_transport.Input, _transport.Output), leaveInnerStreamOpen: false);
        using var cts = new CancellationTokenSource(_timeouts.Current.Command);
        try
        {
            await _ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = false,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, cts.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            _log.LogInformation("{Session} TLS handshake failed: {Error}", Context.SessionId, ex.Message);
            return false;
        }
        Context.Tls = new TlsInfo(_ssl.SslProtocol.ToString(), _ssl.NegotiatedCipherSuite.ToString());
        _log.LogInformation("{Session} TLS established: {Protocol} {Cipher}", Context.SessionId, Context.Tls.Protocol, Context.Tls.Cipher);
        _input.SwitchTo(PipeReader.Create(_ssl, new StreamPipeReaderOptions(leaveOpen: true)));
        _writer = PipeWriter.Create(_ssl, new StreamPipeWriterOptions(leaveOpen: true));
        return true;
    }

    // ---- AUTH (RFC 4954, PLAIN RFC 4616, LOGIN) ----------------------------------------

    async ValueTask<Next> AuthAsync(string argument)
    {
        if (!AuthOffered) return Respond(_certificate is null ? SmtpReply.AuthNotAvailable : SmtpReply.EncryptionRequired);
        if (Context.HeloName is null) return Respond(SmtpReply.HeloFirst);
        if (Context.AuthenticatedUser is not null) return Respond(SmtpReply.AlreadyAuthenticated);
        if (_mail is not null) return Respond(SmtpReply.BadSequence);
        // Counted as an error: a client that keeps trying AUTH while refused ends with 421.
        if (await _hooks.Authenticator.CanAuthenticateAsync(Context, CancellationToken.None) is { } refusal) return Respond(refusal, isError: true);

        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2) return Respond(SmtpReply.Syntax("AUTH mechanism [initial-response]"));
        var initial = parts.Length == 2 ? parts[1] : null;
        string? user, password;
        switch (parts[0].ToUpperInvariant())
        {
            case "PLAIN":
            {
                var (ok, response) = initial is null ? await ChallengeAsync("") : (true, initial);
                if (!ok) return Next.Close;
                if (response == "*") return Respond(SmtpReply.AuthCancelled);
                if (!TryDecode(response, out var plain)) return Respond(SmtpReply.AuthBadEncoding);
                var fields = plain.Split('\0');
                if (fields.Length != 3 || fields[1].Length == 0) return Respond(SmtpReply.AuthBadEncoding);
                if (fields[0].Length > 0 && fields[0] != fields[1]) return Respond(SmtpReply.AuthFailed); // no proxy logins
                (user, password) = (fields[1], fields[2]);
                break;
            }
            case "LOGIN":
            {
                string? u;
                if (initial is not null) { if (!TryDecode(initial, out u)) return Respond(SmtpReply.AuthBadEncoding); }
                else
                {
                    var (ok, r) = await ChallengeAsync(Convert.ToBase64String("Username:"u8));
                    if (!ok) return Next.Close;
                    if (r == "*") return Respond(SmtpReply.AuthCancelled);
                    if (!TryDecode(r, out u)) return Respond(SmtpReply.AuthBadEncoding);
                }
                var (ok2, p) = await ChallengeAsync(Convert.ToBase64String("Password:"u8));
                if (!ok2) return Next.Close;
                if (p == "*") return Respond(SmtpReply.AuthCancelled);
                if (!TryDecode(p, out var pw)) return Respond(SmtpReply.AuthBadEncoding);
                (user, password) = (u, pw);
                break;
            }
            default:
                return Respond(SmtpReply.AuthUnknownMechanism);
        }

        if (await _hooks.Authenticator.AuthenticateAsync(Context, user, password, CancellationToken.None))
        {
            Context.AuthenticatedUser = user;
            _log.LogInformation("{Session} authenticated as {User}", Context.SessionId, user);
            return Respond(SmtpReply.AuthSucceeded);
        }
        _log.LogInformation("{Session} authentication failed for {User}", Context.SessionId, user);
        return Respond(SmtpReply.AuthFailed);
    }

    /// <summary>Sends a 334 challenge and reads the client's line; false when the session must end.</summary>
    async ValueTask<(bool, string)> ChallengeAsync(string challenge)
    {
        Write(new SmtpReply(334, null, challenge));
        var (outcome, length, tooLong) = await ReadLineAsync(_options.MaxAuthLineLength);
        if (outcome != ReadOutcome.Ok) { EndOnRead(outcome); return (false, ""); }
        if (tooLong) return (true, "\0invalid");
        return (true, Encoding.ASCII.GetString(_line, 0, length).Trim());
    }

    static bool TryDecode(string base64, out string text)
    {
        text = "";
        if (base64 == "=") return true; // RFC 4954: empty initial response
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, bytes, out var n)) return false;
        try { text = new UTF8Encoding(false, true).GetString(bytes, 0, n); return true; }
        catch (DecoderFallbackException) { return false; }
    }

    // ---- Replies and input -------------------------------------------------------------

    void Write(SmtpReply reply) => reply.WriteTo(_writer);

    /// <summary>Writes a reply; protocol errors count towards the bad-command limit.</summary>
    Next Respond(SmtpReply reply, bool isError = false)
    {
        Write(reply);
        if ((isError || reply.Code is 500 or 501 or 502 or 503 or 504 or 535 or 538 or 555) && ++_badCommands >= _options.MaxBadCommands)
        {
            _log.LogInformation("{Session} too many bad commands, closing", Context.SessionId);
            Write(SmtpReply.TooManyErrors);
            return Next.Close;
        }
        return Next.Continue;
    }

    /// <summary>Replies to a command that does not move a transaction forward (anti-abuse limit).</summary>
    Next Junk(SmtpReply reply)
    {
        if (++_junkCommands > _options.MaxJunkCommands)
        {
            _log.LogInformation("{Session} too many commands without mail, closing", Context.SessionId);
            Write(SmtpReply.TooManyJunkCommands);
            return Next.Close;
        }
        return Respond(reply);
    }

    ValueTask FlushAsync()
    {
        if (_writer.CanGetUnflushedBytes && _writer.UnflushedBytes == 0) return ValueTask.CompletedTask;
        var flush = _writer.FlushAsync();
        return flush.IsCompletedSuccessfully ? ValueTask.CompletedTask : new ValueTask(flush.AsTask());
    }

    /// <summary>Reads one command line (CRLF or bare LF ends it) into <see cref="_line"/>.</summary>
    async ValueTask<(ReadOutcome, int Length, bool TooLong)> ReadLineAsync(int maxLength)
    {
        var tooLong = false;
        var started = Environment.TickCount64;
        if (_line.Length < maxLength)
        {
            ArrayPool<byte>.Shared.Return(_line);
            _line = ArrayPool<byte>.Shared.Rent(maxLength);
        }
        while (true)
        {
            var buffer = _input.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is not null)
            {
                var line = buffer.Slice(0, lf.Value);
                _input.Consume(buffer.GetPosition(1, lf.Value));
                var length = (int)Math.Min(line.Length, int.MaxValue);
                if (length > 0 && line.Slice(length - 1).FirstSpan[0] == '\r') length--;
                if (tooLong || length + 2 > maxLength) return (ReadOutcome.Ok, 0, true);
                line.Slice(0, length).CopyTo(_line);
                return (ReadOutcome.Ok, length, false);
            }
            if (buffer.Length > maxLength) { tooLong = true; _input.Consume(buffer.End); }

            var outcome = await FillAsync(started, Wait.Command, interruptible: _mail is null && !_chunking);
            if (outcome != ReadOutcome.Ok) return (outcome, 0, false);
        }
    }

    /// <summary>
    /// Waits for more input, within the command or data timeout counted from <paramref name="started"/>
    /// (Environment.TickCount64). Counted per line rather than per read, so a client dripping one
    /// octet at a time is still dropped.
    /// </summary>
    async ValueTask<ReadOutcome> FillAsync(long started, Wait kind, bool interruptible)
    {
        if (interruptible && _stopping) return ReadOutcome.ShuttingDown;
        if (kind == Wait.Command && Volatile.Read(ref _evicted) == 1) return ReadOutcome.Evicted;
        if (Expired(started, kind, Environment.TickCount64, _timeouts.Current)) return ReadOutcome.TimedOut;
        _timedOut = false;
        _interruptible = interruptible;
        Volatile.Write(ref _wait, (started << 1) | (kind == Wait.Data ? 1L : 0L));
        try
        {
            {
                var cancelled = false;
                if (await _input.FillAsync(c => cancelled = c)) return ReadOutcome.Ok;
                if (!cancelled) return ReadOutcome.Closed;
                if (_timedOut) return ReadOutcome.TimedOut;
                if (kind == Wait.Command && Volatile.Read(ref _evicted) == 1) return ReadOutcome.Evicted;
                if (interruptible && _stopping) return ReadOutcome.ShuttingDown;
                // A stale cancellation (shutdown raced with the end of an idle wait): let the caller rescan.
                return ReadOutcome.Ok;
            }
        }
        finally
        {
            _interruptible = false;
            Volatile.Write(ref _wait, long.MaxValue);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _input.Release();
        ArrayPool<byte>.Shared.Return(_line);
        _body.Dispose();
        if (_ssl is not null)
        {
            try
            {
                await _writer.CompleteAsync();
                await _ssl.ShutdownAsync();
            }
            catch { /* the peer may be gone already */ }
            await _ssl.DisposeAsync();
        }
    }
}
