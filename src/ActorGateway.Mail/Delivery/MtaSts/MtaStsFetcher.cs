using System.Net;
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
        _http = GatewayHttpClient.Create(dns, trust, timeout);
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

    public void Dispose() => _http.Dispose();
}
