using System.Net;
using System.Net.Sockets;
using DnsClient;

namespace ActorGateway.Mail.Delivery.MtaSts;

/// <summary>
/// Reads what a domain publishes for MTA-STS (RFC 8461 3): its TXT record through the gateway's
/// DNS, and its policy by HTTPS GET from mta-sts.&lt;domain&gt;, with the certificate verified for
/// that name (system store plus the configured trust anchors), no redirects followed, only a
/// 200 with text/plain accepted, and the body limited in size and time. The policy host is
/// resolved with the gateway's DNS as well. <paramref name="port"/> is 443 but for tests.
/// </summary>
public sealed class MtaStsFetcher : IDisposable
{
    public const string WellKnownPath = "/.well-known/mta-sts.txt";

    readonly ILookupClient _dns;
    readonly HttpClient _http;
    readonly int _port;
    readonly int _maxSize;

    public MtaStsFetcher(ILookupClient dns, CertificateTrust trust, int port, TimeSpan timeout, int maxSize)
    {
        _dns = dns; _port = port; _maxSize = maxSize;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = ConnectAsync,
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => trust.IsTrusted(certificate, chain, errors);
        _http = new HttpClient(handler) { Timeout = timeout };
    }

    public async Task<MtaStsRecord?> FindRecordAsync(string domain, CancellationToken ct)
    {
        var answer = await _dns.QueryAsync($"_mta-sts.{domain}", QueryType.TXT, QueryClass.IN, ct);
        return answer.HasError ? null : MtaStsRecord.Find(answer.Answers.TxtRecords().Select(t => string.Concat(t.Text)));
    }

    public Uri PolicyUri(string domain) =>
        new UriBuilder(Uri.UriSchemeHttps, $"mta-sts.{domain}", _port == 443 ? -1 : _port, WellKnownPath).Uri;

    public async Task<(MtaStsPolicy? Policy, string Error)> FetchPolicyAsync(string domain, CancellationToken ct)
    {
        var uri = PolicyUri(domain);
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.StatusCode != HttpStatusCode.OK) return (null, $"{uri}: HTTP {(int)response.StatusCode}");
            var type = response.Content.Headers.ContentType?.MediaType;
            if (!string.Equals(type, "text/plain", StringComparison.OrdinalIgnoreCase)) return (null, $"{uri}: Content-Type {type ?? "none"}, not text/plain");
            if (response.Content.Headers.ContentLength > _maxSize) return (null, $"{uri}: larger than {_maxSize} bytes");
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            var buffer = new byte[_maxSize + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), ct)) > 0) length += read;
            if (length > _maxSize) return (null, $"{uri}: larger than {_maxSize} bytes");
            var policy = MtaStsPolicy.Parse(System.Text.Encoding.UTF8.GetString(buffer, 0, length), out var error);
            return policy is null ? (null, $"{uri}: malformed policy: {error}") : (policy, "");
        }
        catch (HttpRequestException e) { return (null, $"{uri}: {Innermost(e)}"); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { return (null, $"{uri}: no answer within {_http.Timeout}"); }
        catch (IOException e) { return (null, $"{uri}: {e.Message}"); }
    }

    static string Innermost(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException) messages.Add(x.Message);
        return string.Join(": ", messages.Distinct());
    }

    /// <summary>Connects to the policy host as the gateway's DNS resolves it (not the system resolver).</summary>
    async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = new List<IPAddress>();
        if (IPAddress.TryParse(host, out var literal)) addresses.Add(literal);
        else
            foreach (var type in new[] { QueryType.A, QueryType.AAAA })
            {
                var answer = await _dns.QueryAsync(host, type, QueryClass.IN, ct);
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

    public void Dispose() => _http.Dispose();
}
