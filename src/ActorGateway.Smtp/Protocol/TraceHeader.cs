using System.Globalization;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Protocol;

/// <summary>The Received trace header of RFC 5321 4.4, with the protocol names of RFC 3848.</summary>
public static class TraceHeader
{
    public static string Build(SmtpSessionContext session, SmtpTransaction transaction, string serverName, string queueId)
    {
        var protocol = (transaction.SmtpUtf8 ? "UTF8SMTP" : session.IsExtended ? "ESMTP" : "SMTP")
                       + (session.Tls is null ? "" : "S") + (session.AuthenticatedUser is null ? "" : "A");
        if (protocol == "SMTPS" || protocol == "SMTPA" || protocol == "SMTPSA") protocol = "E" + protocol; // HELO + TLS/AUTH is still ESMTP-ish
        var tls = session.Tls is null ? "" : $"\r\n\t(using {session.Tls.Protocol} with cipher {session.Tls.Cipher})";
        var forClause = transaction.Recipients.Count == 1 ? $"\r\n\tfor <{transaction.Recipients[0].Address}>" : "";
        var date = transaction.ReceivedAt.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture)
                   + transaction.ReceivedAt.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "");
        return $"Received: from {session.HeloName ?? "unknown"} ([{session.RemoteAddress}]){tls}\r\n" +
               $"\tby {serverName} (ActorGateway) with {protocol} id {queueId}{forClause};\r\n\t{date}\r\n";
    }
}
