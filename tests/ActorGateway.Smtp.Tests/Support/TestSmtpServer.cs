using System.Net;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Testing;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Smtp.Tests.Support;

/// <summary>Our SMTP server on a free loopback port with recording hooks.</summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    public SmtpServerHost Host { get; }
    public RecordingHooks Hooks { get; }
    public TestCertificate? Certificate { get; }
    public IPEndPoint EndPoint => Host.EndPoints[0];
    public int Port => EndPoint.Port;

    TestSmtpServer(SmtpServerHost host, RecordingHooks hooks, TestCertificate? cert) { Host = host; Hooks = hooks; Certificate = cert; }

    /// <summary>
    /// Starts a server. With <paramref name="tls"/> the first endpoint offers STARTTLS and a second
    /// endpoint with implicit TLS is added (EndPoints[1]).
    /// </summary>
    public static async Task<TestSmtpServer> StartAsync(Func<SmtpServerOptions, SmtpServerOptions>? configure = null,
        bool tls = false, bool allowAuthWithoutTls = false, bool authRequired = false, TimeSpan? shutdownTimeout = null)
    {
        var cert = tls ? new TestCertificate() : null;
        var endpoints = new List<SmtpEndpointOptions>
        {
            new() { Name = "smtp", Address = "127.0.0.1", Port = 0, CertificatePath = cert?.CertificatePath, KeyPath = cert?.KeyPath,
                    AllowAuthWithoutTls = allowAuthWithoutTls, AuthRequired = authRequired },
        };
        if (cert is not null)
            endpoints.Add(new() { Name = "submissions", Address = "127.0.0.1", Port = 0, ImplicitTls = true, CertificatePath = cert.PfxPath, AuthRequired = authRequired });
        var options = new SmtpServerOptions { ServerName = "gw.test", Endpoints = endpoints };
        if (configure is not null) options = configure(options);
        var hooks = new RecordingHooks();
        var host = await SmtpServerHost.StartAsync(options, hooks.Hooks, logging: l => l.SetMinimumLevel(LogLevel.Warning), shutdownTimeout: shutdownTimeout);
        return new TestSmtpServer(host, hooks, cert);
    }

    /// <summary>A client that has read the 220 greeting and, unless told otherwise, said EHLO.</summary>
    public async Task<RawSmtpClient> OpenSessionAsync(bool ehlo = true)
    {
        var client = await RawSmtpClient.ConnectAsync(EndPoint);
        var greeting = await client.ReadReplyAsync();
        Assert.Equal(220, greeting.Code);
        Assert.StartsWith("gw.test ", greeting.Lines[0]);
        if (ehlo) Assert.Equal(250, (await client.CommandAsync("EHLO client.example")).Code);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Certificate?.Dispose();
    }
}
