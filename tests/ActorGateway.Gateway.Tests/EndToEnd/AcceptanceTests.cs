using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Testing;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>Who may send what: tenants, sender domains, and the replies the seed asks for.</summary>
public sealed class AcceptanceTests(AcceptanceTests.Bed bed) : IClassFixture<AcceptanceTests.Bed>
{
    public sealed class Bed : IAsyncLifetime
    {
        public GatewayTestbed Testbed { get; private set; } = null!;
        public async Task InitializeAsync() => Testbed = await GatewayTestbed.StartAsync();
        public async Task DisposeAsync() => await Testbed.DisposeAsync();
    }

    GatewayTestbed T => bed.Testbed;

    [Fact]
    public async Task Mail_from_a_tenant_network_is_delivered_with_a_trace_header()
    {
        var subject = "first " + Guid.NewGuid();
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", "bob@rcpt.example", "--header", $"Subject: {subject}", "--body", "Hello world");
        Assert.True(swaks.ExitCode == 0, swaks.ToString());
        var id = swaks.QueueId();
        var mail = Assert.Single(await T.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(30), m => m.Text.Contains(subject)));
        Assert.Equal("alice@sender.example", mail.MailFrom);
        Assert.Equal(new[] { "bob@rcpt.example" }, mail.Recipients);
        Assert.Contains($"by gw.test (ActorGateway) with ESMTP id {id}", mail.Text);
        Assert.Contains("Hello world", mail.Text);
    }

    [Fact]
    public async Task Tenant_known_by_login_sends_over_starttls_from_any_address()
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("app@authed.example"));
        message.To.Add(MailboxAddress.Parse("carol@rcpt.example"));
        message.To.Add(MailboxAddress.Parse("dave@other.example"));
        message.Subject = "login " + Guid.NewGuid();
        message.Body = new TextPart("plain") { Text = "sent by MailKit" };
        using (var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true })
        {
            client.LocalEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.2"), 0); // not a tenant network
            await client.ConnectAsync("127.0.0.1", T.SmtpPort, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync(GatewayTestbed.AuthUser, GatewayTestbed.AuthPassword);
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }
        // One transaction per destination domain.
        var got = await T.Receiver.WaitForAsync(2, TimeSpan.FromSeconds(30), m => m.Text.Contains(message.Subject));
        Assert.Equal(new[] { "carol@rcpt.example", "dave@other.example" }, got.SelectMany(m => m.Recipients).Order());
        Assert.All(got, m => Assert.Contains("with ESMTPSA id", m.Text));
    }

    [Fact]
    public async Task Wrong_password_is_refused()
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", T.SmtpPort, SecureSocketOptions.StartTls);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync(GatewayTestbed.AuthUser, "wrong"));
    }

    [Fact]
    public async Task Sender_domain_without_mx_or_a_gets_the_seed_reply()
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "someone@nothing.example", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("550 5.1.8 Sender Domain must resolve", swaks.Replies());
    }

    [Fact]
    public async Task Sender_domain_with_a_null_mx_gets_the_seed_reply()
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "someone@nullmx.example", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("550 5.1.8 Sender Domain must resolve", swaks.Replies());
    }

    [Fact]
    public async Task Sender_domain_with_only_an_address_record_is_accepted()
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "someone@arecord.example", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("250 2.1.0 Sender OK", swaks.Replies());
    }

    [Fact]
    public async Task Unknown_client_is_refused_never_an_open_relay()
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "alice@sender.example", "bob@rcpt.example", "--local-interface", "127.0.0.2", "--quit-after", "RCPT");
        Assert.Contains("554 5.7.1 Relay access denied: client is not a known tenant", swaks.Replies());
    }

    [Fact]
    public async Task Sender_domain_not_owned_by_the_tenant_is_refused()
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "ceo@authed.example", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("550 5.7.1 Sender domain authed.example is not permitted for this client", swaks.Replies());
    }

    [Fact]
    public async Task Null_sender_from_a_client_is_refused()
    {
        var swaks = await Swaks.SendAsync(T.SmtpPort, "<>", "bob@rcpt.example", "--quit-after", "MAIL");
        Assert.Contains("550 5.7.1 The null sender is not accepted from clients", swaks.Replies());
    }
}
