using System.Buffers;
using System.Text;

namespace ActorGateway.Smtp.Protocol;

/// <summary>
/// One SMTP reply: a three-digit code (RFC 5321 4.2), an enhanced status code (RFC 3463)
/// and one or more text lines. Hooks return these, so policy decided elsewhere becomes a
/// normal reply on the wire.
/// </summary>
public sealed record SmtpReply(int Code, string? Status, IReadOnlyList<string> Lines)
{
    public SmtpReply(int code, string? status, string text) : this(code, status, SplitLines(text)) { }

    public bool IsPositive => Code is >= 200 and < 400;
    public string Text => string.Join(" ", Lines);

    public override string ToString() => Status is null ? $"{Code} {Text}" : $"{Code} {Status} {Text}";

    byte[]? _wire;

    /// <summary>The reply in wire form, multi-line replies with "CODE-" continuations; encoded once.</summary>
    public ReadOnlySpan<byte> Wire => _wire ??= Encode();

    public void WriteTo(IBufferWriter<byte> writer) => writer.Write(Wire);

    byte[] Encode()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < Lines.Count; i++)
        {
            sb.Append(Code).Append(i == Lines.Count - 1 ? ' ' : '-');
            if (Status is not null) sb.Append(Status).Append(' ');
            sb.Append(Lines[i]).Append("\r\n");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    static string[] SplitLines(string text) => text.Split('\n', StringSplitOptions.TrimEntries);

    // The replies the protocol itself needs; policy hooks build their own.
    public static SmtpReply Ok { get; } = new(250, "2.0.0", "OK");
    public static SmtpReply SenderOk { get; } = new(250, "2.1.0", "Sender OK");
    public static SmtpReply RecipientOk { get; } = new(250, "2.1.5", "Recipient OK");
    public static SmtpReply StartData { get; } = new(354, null, "End data with <CR><LF>.<CR><LF>");
    public static SmtpReply Bye { get; } = new(221, "2.0.0", "Bye");
    public static SmtpReply CannotVerify { get; } = new(252, "2.1.5", "Cannot VRFY user, but will accept message and attempt delivery");
    public static SmtpReply ReadyToStartTls { get; } = new(220, "2.0.0", "Ready to start TLS");
    public static SmtpReply AuthSucceeded { get; } = new(235, "2.7.0", "Authentication successful");

    public static SmtpReply UnknownCommand { get; } = new(500, "5.5.1", "Command unrecognized");
    public static SmtpReply LineTooLong { get; } = new(500, "5.5.6", "Line too long");
    public static SmtpReply BadSequence { get; } = new(503, "5.5.1", "Bad sequence of commands");
    public static SmtpReply HeloFirst { get; } = new(503, "5.5.1", "Send HELO/EHLO first");
    public static SmtpReply NestedMail { get; } = new(503, "5.5.1", "Nested MAIL command");
    public static SmtpReply NeedMail { get; } = new(503, "5.5.1", "Need MAIL command");
    public static SmtpReply NeedRcpt { get; } = new(503, "5.5.1", "Need RCPT command");
    public static SmtpReply NoValidRecipients { get; } = new(554, "5.5.1", "No valid recipients");
    public static SmtpReply AlreadyTls { get; } = new(503, "5.5.1", "TLS already active");
    public static SmtpReply TlsNotAvailable { get; } = new(454, "4.7.0", "TLS not available");
    public static SmtpReply AlreadyAuthenticated { get; } = new(503, "5.5.1", "Already authenticated");
    public static SmtpReply AuthNotAvailable { get; } = new(503, "5.5.1", "AUTH not available");
    public static SmtpReply EncryptionRequired { get; } = new(538, "5.7.11", "Encryption required for requested authentication mechanism");
    /// <summary>MAIL FROM ... REQUIRETLS in a plaintext session (RFC 8689 3: only over TLS).</summary>
    public static SmtpReply RequireTlsWithoutTls { get; } = new(530, "5.7.10", "REQUIRETLS needs TLS: issue STARTTLS first");
    public static SmtpReply AuthRequired { get; } = new(530, "5.7.0", "Authentication required");
    public static SmtpReply AuthFailed { get; } = new(535, "5.7.8", "Authentication credentials invalid");
    public static SmtpReply AuthCancelled { get; } = new(501, "5.0.0", "Authentication cancelled");
    public static SmtpReply AuthBadEncoding { get; } = new(501, "5.5.2", "Cannot decode response");
    public static SmtpReply AuthUnknownMechanism { get; } = new(504, "5.5.4", "Unrecognized authentication type");
    public static SmtpReply TooManyRecipients { get; } = new(452, "4.5.3", "Too many recipients");
    public static SmtpReply MessageTooBig { get; } = new(552, "5.3.4", "Message size exceeds fixed maximum message size");
    public static SmtpReply DataLineTooLong { get; } = new(500, "5.5.6", "Message has a line longer than allowed");
    public static SmtpReply ServiceShuttingDown { get; } = new(421, "4.3.2", "Service shutting down, closing transmission channel");
    public static SmtpReply TooManyErrors { get; } = new(421, "4.7.0", "Too many errors, closing transmission channel");
    public static SmtpReply TooManyJunkCommands { get; } = new(421, "4.7.0", "Too many commands without a mail transaction, closing transmission channel");
    public static SmtpReply TooManyConnections { get; } = new(421, "4.7.0", "Too many connections, try again later");
    public static SmtpReply TooManyConnectionsFromClient { get; } = new(421, "4.7.0", "Too many connections from your address, try again later");
    public static SmtpReply IdleSessionEvicted(string serverName) => new(421, "4.7.0", $"{serverName} Too many connections, closing idle session");
    public static SmtpReply Timeout { get; } = new(421, "4.4.2", "Timeout exceeded, closing transmission channel");
    public static SmtpReply LocalError { get; } = new(451, "4.3.0", "Local error in processing, try again later");

    /// <summary>A message refused for a bare CR or LF (RFC 5321 2.3.8), with 5.5.2 as Postfix uses.</summary>
    public static SmtpReply BareLineEndingRefused(BareLineEnding found) => found == BareLineEnding.Cr ? BareCr : BareLf;
    static readonly SmtpReply BareCr = new(550, "5.5.2", "Message contains a bare CR (RFC 5321 2.3.8)");
    static readonly SmtpReply BareLf = new(550, "5.5.2", "Message contains a bare LF (RFC 5321 2.3.8)");

    public static SmtpReply Syntax(string usage) => new(501, "5.5.4", $"Syntax: {usage}");
    public static SmtpReply BadParameter(string text) => new(501, "5.5.4", text);
    public static SmtpReply UnsupportedParameter(string name) => new(555, "5.5.4", $"Unsupported option: {name}");
    public static SmtpReply BadAddress(string text) => new(501, "5.1.3", text);
}
