using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ActorGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>
/// The HTTPS hosts mta-sts.&lt;domain&gt; of the test domains, as one Kestrel server on a loopback
/// port: per domain the answer to GET /.well-known/mta-sts.txt (a policy, an error status, another
/// Content-Type, or a dropped connection) and the certificate it presents (by SNI; by default one
/// for its name from the test CA).
/// </summary>
public sealed class MtaStsPolicyHost : IAsyncDisposable
{
    /// <summary>What the policy URL answers; <paramref name="Drop"/>: the connection is cut as if the host were down.</summary>
    public sealed record Answer(int Status, string ContentType, string Body, bool Drop = false);

    readonly ConcurrentDictionary<string, Answer> _answers = new(StringComparer.OrdinalIgnoreCase);
    readonly ConcurrentDictionary<string, X509Certificate2> _certificates = new(StringComparer.OrdinalIgnoreCase);
    readonly List<TestCertificate> _issued = [];
    readonly TestCertificateAuthority _ca;
    WebApplication _app = null!;
    public int Port { get; } = FreePort.Next();
    /// <summary>Host names of the requests served, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();
    /// <summary>TLS reports POSTed to /tlsrpt (RFC 8460 https rua): Content-Type and body.</summary>
    public ConcurrentQueue<(string? ContentType, byte[] Body)> Reports { get; } = new();

    MtaStsPolicyHost(TestCertificateAuthority ca) => _ca = ca;

    /// <summary>Starts the server with certificates for the policy hosts of <paramref name="domains"/> and for <paramref name="otherHosts"/> made beforehand (not during a handshake).</summary>
    public static async Task<MtaStsPolicyHost> StartAsync(TestCertificateAuthority ca, IEnumerable<string> domains, params string[] otherHosts)
    {
        var host = new MtaStsPolicyHost(ca);
        foreach (var name in domains.Select(d => $"mta-sts.{d}").Concat(otherHosts)) host.CertificateFor(name);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, host.Port, l => l.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, name) => host.CertificateFor(name ?? "unknown.invalid"),
        })));
        host._app = builder.Build();
        host._app.MapGet("/.well-known/mta-sts.txt", async (HttpContext context) =>
        {
            var name = context.Request.Host.Host;
            host.Requests.Enqueue(name);
            var domain = name.StartsWith("mta-sts.", StringComparison.OrdinalIgnoreCase) ? name[8..] : name;
            var answer = host._answers.GetValueOrDefault(domain) ?? new Answer(404, "text/plain", "no policy\n");
            if (answer.Drop) { context.Abort(); return; }
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = answer.ContentType;
            await context.Response.WriteAsync(answer.Body);
        });
        host._app.MapPost("/tlsrpt", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            host.Reports.Enqueue((context.Request.ContentType, body.ToArray()));
            return Results.Created();
        });
        await host._app.StartAsync();
        return host;
    }

    /// <summary>Serves <paramref name="policy"/> (RFC 8461 3.2 text) for the domain.</summary>
    public void Serve(string domain, string policy) => _answers[domain] = new Answer(200, "text/plain", policy);

    public void Set(string domain, Answer answer) => _answers[domain] = answer;

    /// <summary>The policy host of <paramref name="domain"/> presents <paramref name="certificate"/> instead of one for its name.</summary>
    public void Present(string domain, TestCertificate certificate) =>
        _certificates[$"mta-sts.{domain}"] = X509Certificate2.CreateFromPemFile(certificate.CertificatePath, certificate.KeyPath);

    X509Certificate2 CertificateFor(string name) => _certificates.GetOrAdd(name, n =>
    {
        var issued = _ca.Issue(n);
        lock (_issued) _issued.Add(issued);
        return X509Certificate2.CreateFromPemFile(issued.CertificatePath, issued.KeyPath);
    });

    /// <summary>An enforce/testing/none policy text with these mx patterns.</summary>
    public static string Policy(string mode, params string[] mx) =>
        $"version: STSv1\r\nmode: {mode}\r\n{string.Concat(mx.Select(m => $"mx: {m}\r\n"))}max_age: 86400\r\n";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var c in _certificates.Values) c.Dispose();
        foreach (var c in _issued) c.Dispose();
    }
}
