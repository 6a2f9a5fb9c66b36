using System.Globalization;
using System.Text;
using ActorGateway.Smtp.Protocol;
using MimeKit;
using MimeKit.Utils;

namespace ActorGateway.Mail.Bounce;

/// <summary>A recipient the NDR reports on (RFC 3464 2.3).</summary>
public sealed record FailedRecipient(string Address, string? OriginalRecipient, string Status, string Diagnostic, string? RemoteMta, DateTimeOffset LastAttempt);

/// <summary>The message an NDR is about: its envelope and its bytes.</summary>
public sealed record BouncedMessage(string QueueId, string Sender, string? EnvelopeId, bool ReturnHeadersOnly, DateTimeOffset ArrivalDate, ReadOnlyMemory<byte> Body);

/// <summary>
/// Builds non-delivery reports per RFC 3464: multipart/report with a human-readable part,
/// a message/delivery-status part, and the original message (or only its headers, RET=HDRS).
/// </summary>
public static class NdrBuilder
{
    public static MimeMessage Build(BouncedMessage original, IReadOnlyList<FailedRecipient> failed, string reportingMta, string reason)
    {
        if (original.Sender.Length == 0) throw new ArgumentException("an NDR is never sent to the null sender");
        var ndr = new MimeMessage();
        ndr.From.Add(new MailboxAddress("Mail Delivery System", $"MAILER-DAEMON@{reportingMta}"));
        ndr.To.Add(MailboxAddress.Parse(original.Sender));
        ndr.Subject = "Undelivered Mail Returned to Sender";
        ndr.Date = DateTimeOffset.UtcNow;
        ndr.MessageId = $"{original.QueueId}.ndr@{reportingMta}";
        ndr.Headers.Add("Auto-Submitted", "auto-replied"); // RFC 3834: no auto-replies to this

        var text = new StringBuilder()
            .AppendLine($"This is the mail system at host {reportingMta}.")
            .AppendLine()
            .AppendLine("Your message could not be delivered to one or more recipients.")
            .AppendLine(Unfold(reason))
            .AppendLine();
        // A remote server's reply text is the receiver's to choose: no line breaks of its own.
        foreach (var f in failed) text.AppendLine($"<{f.Address}>: {Unfold(f.Diagnostic)}");

        // RFC 3464 2.1: per-message fields, then one group per recipient, separated by blank lines.
        var groups = new List<List<(string, string)>>();
        var perMessage = new List<(string, string)> { ("Reporting-MTA", $"dns; {reportingMta}") };
        if (original.EnvelopeId is { } envid) perMessage.Add(("Original-Envelope-Id", envid));
        perMessage.Add(("X-ActorGateway-Queue-ID", original.QueueId));
        perMessage.Add(("Arrival-Date", DateUtils.FormatDate(original.ArrivalDate)));
        groups.Add(perMessage);
        foreach (var f in failed)
        {
            var group = new List<(string, string)>();
            if (f.OriginalRecipient is { } orcpt) group.Add(("Original-Recipient", orcpt));
            group.Add(("Final-Recipient", $"rfc822; {f.Address}"));
            group.Add(("Action", "failed"));
            group.Add(("Status", f.Status));
            if (f.RemoteMta is { } remote) group.Add(("Remote-MTA", $"dns; {remote}"));
            group.Add(("Diagnostic-Code", f.Diagnostic));
            group.Add(("Last-Attempt-Date", DateUtils.FormatDate(f.LastAttempt)));
            groups.Add(group);
        }
        var status = new MimePart("message", "delivery-status")
        {
            Content = new MimeContent(new MemoryStream(Encoding.UTF8.GetBytes(FormatGroups(groups)))),
        };

        var report = new MultipartReport("delivery-status")
        {
            new TextPart("plain") { Text = text.ToString() },
            status,
        };
        using var stream = new MemoryStream(original.Body.ToArray(), writable: false);
        var parser = new MimeParser(stream, MimeFormat.Entity);
        if (original.ReturnHeadersOnly)
        {
            var headers = parser.ParseHeaders();
            var rfc822Headers = new MimePart("text", "rfc822-headers");
            var bytes = new MemoryStream();
            headers.WriteTo(bytes);
            bytes.Position = 0;
            rfc822Headers.Content = new MimeContent(bytes);
            report.Add(rfc822Headers);
        }
        else
        {
            report.Add(new MessagePart { Message = parser.ParseMessage() });
        }
        ndr.Body = report;
        return ndr;
    }

    // MimeKit's MessageDeliveryStatus ends with a blank line that parsers read as an empty
    // group; written by hand, the body ends with the last field.
    static string FormatGroups(List<List<(string Name, string Value)>> groups) =>
        string.Join("\r\n", groups.Select(g => string.Concat(g.Select(f => $"{f.Name}: {Unfold(f.Value)}\r\n"))));

    static string Unfold(string value) => value.Replace("\r", " ").Replace("\n", " ");

    /// <summary>The bytes of an NDR (or any message the gateway writes) with CRLF line ends only, ready for the queue.</summary>
    /// <remarks>
    /// MimeKit turns LF into CRLF but leaves a bare CR, e.g. in the quoted headers of a message
    /// stored before bare line endings were normalized at intake: normalized once more here.
    /// </remarks>
    public static byte[] ToBytes(MimeMessage ndr)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var ms = new MemoryStream();
        ndr.WriteTo(options, ms);
        return BareLineEndingNormalizer.Normalize(ms.ToArray());
    }
}
