using System.Net;
using System.Net.Sockets;
using DnsClient;

namespace ActorGateway.Mail.Delivery;

/// <summary>
/// HTTPS as the gateway does it towards receiving domains (MTA-STS policies, TLS reports): host
/// names resolved with the gateway's DNS (not the system resolver), certificates verified for the
/// name against the system store plus the configured trust anchors, no redirects, no proxy.
/// </summary>
public static class GatewayHttpClient
{
    public static HttpClient Create(ILookupClient dns, CertificateTrust trust, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = (context, ct) => ConnectAsync(dns, context, ct),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => trust.IsTrusted(certificate, chain, errors);
        return new HttpClient(handler) { Timeout = timeout };
    }

    static async ValueTask<Stream> ConnectAsync(ILookupClient dns, SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = new List<IPAddress>();
        if (IPAddress.TryParse(host, out var literal)) addresses.Add(literal);
        else
            foreach (var type in new[] { QueryType.A, QueryType.AAAA })
            {
                var answer = await dns.QueryAsync(host, type, QueryClass.IN, ct);
                if (answer.HasError) continue;
                addresses.AddRange(answer.Answers.ARecords().Select(a => a.Address));
                addresses.AddRange(answer.Answers.AaaaRecords().Select(a => a.Address));
            }
        if (addresses.Count == 0) throw new HttpRequestException($"{host} has no address");
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e) { socket.Dispose(); last = e; }
        }
        throw new HttpRequestException($"{host}: {last?.Message}", last);
    }
}
