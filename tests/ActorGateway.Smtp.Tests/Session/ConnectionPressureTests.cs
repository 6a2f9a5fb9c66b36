using System.Diagnostics;
using System.Net;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Tests.Support;
using MailKit.Net.Smtp;
using MimeKit;
using static ActorGateway.Smtp.Tests.Session.LimitTests;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>
/// A server filled with idle and slow connections: stress timeouts and idle eviction let real
/// clients in within seconds, and without pressure the normal timeouts hold.
/// </summary>
public sealed class ConnectionPressureTests
{
    static IPAddress Client(int i) => IPAddress.Parse($"127.0.0.{2 + i % 4}");

    /// <summary>Opens <paramref name="count"/> sessions that say EHLO and then sit idle, from several addresses.</summary>
    static async Task<List<RawSmtpClient>> OpenIdleAsync(TestSmtpServer server, int count, int offset = 0)
    {
        var clients = new List<RawSmtpClient>();
        for (var i = 0; i < count; i++)
        {
            var c = await RawSmtpClient.ConnectAsync(server.EndPoint, from: Client(offset + i));
            clients.Add(c);
            Assert.Equal(220, (await c.ReadReplyAsync()).Code);
            Assert.Equal(250, (await c.CommandAsync("EHLO idle.example")).Code);
        }
        return clients;
    }

    static async Task DisposeAllAsync(IEnumerable<RawSmtpClient> clients)
    {
        foreach (var c in clients) await c.DisposeAsync();
    }

    static async Task SendWithMailKitAsync(TestSmtpServer server)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("alice@sender.example"));
        m.To.Add(MailboxAddress.Parse("bob@rcpt.example"));
        m.Subject = "under pressure";
        m.Body = new TextPart("plain") { Text = "Served.\n" };
        using var client = new SmtpClient { Timeout = 5000 };
        await client.ConnectAsync("127.0.0.1", server.Port, MailKit.Security.SecureSocketOptions.None);
        await client.SendAsync(m);
        await client.DisconnectAsync(true);
    }

    /// <summary>
    /// Sends the text an octet a second until the server answers, and returns its answer with the
    /// time it took. The answer is read while dripping: a write after the server's close is not
    /// refused at once (the first one only draws the reset), so the end of dripping is up to two
    /// seconds later than the cut.
    /// </summary>
    static async Task<(Reply Reply, TimeSpan After)> DripUntilAnsweredAsync(RawSmtpClient client, string text)
    {
        var clock = Stopwatch.StartNew();
        var reply = client.ReadReplyAsync(TimeSpan.FromSeconds(30));
        var answered = reply.ContinueWith(_ => clock.Elapsed, TaskContinuationOptions.ExecuteSynchronously);
        try
        {
            foreach (var c in text)
            {
                if (reply.IsCompleted) break;
                await client.SendAsync(c.ToString());
                await Task.WhenAny(reply, Task.Delay(1000));
            }
        }
        catch (IOException) { /* closed by the server */ }
        return (await reply, await answered);
    }

    [Fact]
    public async Task At_max_connections_the_longest_idle_session_makes_room_for_a_real_client()
    {
        var server = await TestSmtpServer.StartAsync(o => o with { MaxConnections = 12, MaxConnectionsPerClient = 3, EvictIdleAfter = TimeSpan.Zero });
        await using var _ = server;
        var idle = await OpenIdleAsync(server, 1);
        await Task.Delay(20); // the first session's wait begins on an earlier clock tick than the others'
        idle.AddRange(await OpenIdleAsync(server, 11, offset: 1));
        try
        {
            Assert.True(server.Host.Server.UnderStress);
            var clock = Stopwatch.StartNew();
            await SendWithMailKitAsync(server);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"served after {clock.Elapsed}");
            Assert.Single(server.Hooks.Messages);
            Assert.Equal("421 4.7.0 gw.test Too many connections, closing idle session", (await idle[0].ReadReplyAsync(TimeSpan.FromSeconds(5))).ToString());
            Assert.True(await idle[0].IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal(250, (await idle[^1].CommandAsync("NOOP")).Code); // the others stay
        }
        finally { await DisposeAllAsync(idle); }
    }

    [Fact]
    public async Task A_session_in_data_is_never_evicted()
    {
        var server = await TestSmtpServer.StartAsync(o => o with { MaxConnections = 1, EvictIdleAfter = TimeSpan.Zero });
        await using var _ = server;
        await using var sending = await server.OpenSessionAsync();
        Assert.Equal(250, (await sending.CommandAsync("MAIL FROM:<a@s.example>")).Code);
        Assert.Equal(250, (await sending.CommandAsync("RCPT TO:<b@r.example>")).Code);
        Assert.Equal(354, (await sending.CommandAsync("DATA")).Code);
        await sending.SendAsync("Subject: slow\r\n\r\nfirst line\r\n");
        await using (var late = await RawSmtpClient.ConnectAsync(server.EndPoint))
            Assert.Equal("421 4.7.0 Too many connections, try again later", (await late.ReadReplyAsync()).ToString());
        Assert.Equal(250, (await sending.CommandAsync(".")).Code);
    }

    [Fact]
    public async Task An_idle_session_already_waiting_is_cut_when_stress_begins_and_stress_ends_when_load_falls()
    {
        var server = await TestSmtpServer.StartAsync(o => o with
        {
            MaxConnections = 10, StressThreshold = 0.5, StressCommandTimeout = TimeSpan.FromSeconds(1), EvictIdleAfter = null,
        });
        await using var _ = server;
        await using var first = await server.OpenSessionAsync(); // waits under the 5-minute command timeout
        Assert.False(server.Host.Server.UnderStress);
        var others = await OpenIdleAsync(server, 4);
        try
        {
            await WaitForAsync(() => server.Host.Server.UnderStress);
            var clock = Stopwatch.StartNew();
            Assert.Equal("421 4.4.2 Timeout exceeded, closing transmission channel", (await first.ReadReplyAsync(TimeSpan.FromSeconds(5))).ToString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"cut after {clock.Elapsed}");
        }
        finally { await DisposeAllAsync(others); }
        await WaitForAsync(() => !server.Host.Server.UnderStress);
    }

    [Fact]
    public async Task A_client_dripping_a_command_is_cut_under_stress()
    {
        var server = await TestSmtpServer.StartAsync(o => o with
        {
            MaxConnections = 4, StressThreshold = 0.5, StressCommandTimeout = TimeSpan.FromSeconds(2), EvictIdleAfter = null,
        });
        await using var _ = server;
        var others = await OpenIdleAsync(server, 1);
        try
        {
            await using var slow = await server.OpenSessionAsync();
            await WaitForAsync(() => server.Host.Server.UnderStress);
            var (reply, after) = await DripUntilAnsweredAsync(slow, "NOOP NOOP NOOP NOOP");
            Assert.Equal(421, reply.Code);
            Assert.True(after < TimeSpan.FromSeconds(5), $"cut after {after}");
        }
        finally { await DisposeAllAsync(others); }
    }

    [Fact]
    public async Task A_client_dripping_message_data_is_cut_under_stress()
    {
        var server = await TestSmtpServer.StartAsync(o => o with
        {
            MaxConnections = 4, StressThreshold = 0.5, StressDataTimeout = TimeSpan.FromSeconds(2), EvictIdleAfter = null,
        });
        await using var _ = server;
        var others = await OpenIdleAsync(server, 1);
        try
        {
            await using var slow = await server.OpenSessionAsync();
            Assert.Equal(250, (await slow.CommandAsync("MAIL FROM:<a@s.example>")).Code);
            Assert.Equal(250, (await slow.CommandAsync("RCPT TO:<b@r.example>")).Code);
            Assert.Equal(354, (await slow.CommandAsync("DATA")).Code);
            Assert.True(server.Host.Server.UnderStress);
            var (reply, after) = await DripUntilAnsweredAsync(slow, "Subject: one octet a second");
            Assert.Equal("421 4.4.2 Timeout exceeded, closing transmission channel", reply.ToString());
            Assert.True(after < TimeSpan.FromSeconds(5), $"cut after {after}");
            Assert.Empty(server.Hooks.Messages);
        }
        finally { await DisposeAllAsync(others); }
    }

    [Fact]
    public async Task Without_stress_a_slow_client_gets_the_normal_timeout()
    {
        var server = await TestSmtpServer.StartAsync(o => o with
        {
            MaxConnections = 10, StressThreshold = 0.8, StressCommandTimeout = TimeSpan.FromSeconds(1),
        });
        await using var _ = server;
        await using var slow = await server.OpenSessionAsync();
        foreach (var c in "NOOP")
        {
            await slow.SendAsync(c.ToString());
            await Task.Delay(1000); // slower than the stress timeout allows for the whole line
        }
        Assert.Equal(250, (await slow.CommandAsync("")).Code);
        Assert.False(server.Host.Server.UnderStress);
    }
}
