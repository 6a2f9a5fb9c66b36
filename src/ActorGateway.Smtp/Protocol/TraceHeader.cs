using System.Globalization;
using ActorGateway.Smtp.Session;

namespace ActorGateway.Smtp.Protocol;

/// <summary>What the gateway's trace header tells the receivers about the client.</summary>
public enum TraceMode
{
    /// <summary>The RFC 5321 line with the client's HELO name and address.</summary>
    Full,
    /// <summary>The gateway's own line without the client's HELO name and address (queue id, protocol, TLS and date stay).</summary>
    HideClient,
    /// <summary>HideClient, and the Received fields added before the gateway are removed as well.</summary>
    HideClientAndStrip,
}

/// <summary>The Received trace header of RFC 5321 4.4, with the protocol names of RFC 3848.</summary>
public static class TraceHeader
{
    /// <summary>The comment after the by-domain that marks the gateway's own lines (see <see cref="ReceivedFields"/>).</summary>
    public const string Product = "(ActorGateway)";

    public static string Build(SmtpSessionContext session, SmtpTransaction transaction, string serverName, string queueId, TraceMode mode = TraceMode.Full)
    {
        var protocol = (transaction.SmtpUtf8 ? "UTF8SMTP" : session.IsExtended ? "ESMTP" : "SMTP")
                       + (session.Tls is null ? "" : "S") + (session.AuthenticatedUser is null ? "" : "A");
        if (protocol == "SMTPS" || protocol == "SMTPA" || protocol == "SMTPSA") protocol = "E" + protocol; // HELO + TLS/AUTH is still ESMTP-ish
        var tls = session.Tls is null ? "" : $"\r\n\t(using {session.Tls.Protocol} with cipher {session.Tls.Cipher})";
        var forClause = transaction.Recipients.Count == 1 ? $"\r\n\tfor <{transaction.Recipients[0].Address}>" : "";
        var date = transaction.ReceivedAt.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture)
                   + transaction.ReceivedAt.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "");
        // Without the from clause, as MTAs write it for mail that did not come from a client they
        // name (Postfix's pickup: "Received: by host (Postfix, from userid 0) id ..."): the
        // receivers learn that the gateway relayed it, not which customer server sent it.
        if (mode != TraceMode.Full)
            return $"Received: by {serverName} {Product} with {protocol} id {queueId}{tls}{forClause};\r\n\t{date}\r\n";
        return $"Received: from {session.HeloName ?? "unknown"} ({AddressLiteral(session.RemoteAddress)}){tls}\r\n" +
               $"\tby {serverName} {Product} with {protocol} id {queueId}{forClause};\r\n\t{date}\r\n";
    }

    /// <summary>RFC 5321 4.1.3: [192.0.2.7], [IPv6:2001:db8::7]; an IPv4 client on a dual-stack socket as IPv4.</summary>
    public static string AddressLiteral(System.Net.IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[IPv6:{address}]" : $"[{address}]";
    }
}
