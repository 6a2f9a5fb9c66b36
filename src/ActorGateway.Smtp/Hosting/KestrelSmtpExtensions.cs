using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ActorGateway.Smtp.Hosting;

public static class KestrelSmtpExtensions
{
    /// <summary>
    /// Adds one Kestrel listener per configured SMTP endpoint, each handing its raw TCP
    /// connections to <paramref name="server"/>. Returns the listen options, whose endpoints
    /// carry the bound ports once Kestrel has started (useful with port 0).
    /// </summary>
    public static IReadOnlyList<ListenOptions> ListenSmtp(this KestrelServerOptions kestrel, SmtpServer server)
    {
        var listeners = new List<ListenOptions>();
        foreach (var endpoint in server.Options.Endpoints)
        {
            var address = endpoint.Address is "*" or "0.0.0.0" ? IPAddress.Any : endpoint.Address is "::" ? IPAddress.IPv6Any : IPAddress.Parse(endpoint.Address);
            kestrel.Listen(address, endpoint.Port, listen =>
            {
                listen.Run(connection => server.HandleConnectionAsync(connection, endpoint));
                listeners.Add(listen);
            });
        }
        return listeners;
    }
}
