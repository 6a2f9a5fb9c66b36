using System.Net;
using System.Text;
using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>Every configured limit, crossed: the right reply, and the server goes on.</summary>
public sealed class LimitTests
{
    static async Task<(TestSmtpServer, RawSmtpClient)> OpenAsync(Func<SmtpServerOptions, SmtpServerOptions> configure)
    {
        var server = await TestSmtpServer.StartAsync(configure);
        return (server, await server.OpenSessionAsync());
    }

    static async Task BeginDataAsync(RawSmtpClient client)
    {
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<b@r.example>")).Code);
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
    }

    [Fact]
    public async Task Command_line_over_512_octets_gets_500_and_the_session_continues()
    {
        var (server, client) = await OpenAsync(o => o);
        await using var _ = server; await using var __ = client;
        Assert.Equal(250, (await client.CommandAsync("NOOP " + new string('x', 505))).Code);      // 512 with CRLF
        Assert.Equal("500 5.5.6 Line too long", (await client.CommandAsync("NOOP " + new string('x', 506))).ToString());
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Endless_command_line_is_discarded_without_buffering_it()
    {
        var (server, client) = await OpenAsync(o => o);
        await using var _ = server; await using var __ = client;
        var chunk = Encoding.ASCII.GetBytes(new string('A', 64 * 1024));
        var before = GC.GetTotalMemory(true);
        for (var i = 0; i < 160; i++) await client.SendAsync(chunk); // 10 MiB without a line end
        Assert.Equal("500 5.5.6 Line too long", (await client.CommandAsync("")).ToString());
        var grown = GC.GetTotalMemory(true) - before;
        Assert.True(grown < 4 * 1024 * 1024, $"memory grew by {grown} octets");
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Text_line_over_1000_octets_is_refused_after_the_data()
    {
        var (server, client) = await OpenAsync(o => o);
        await using var _ = server; await using var __ = client;
        await BeginDataAsync(client);
        await client.SendAsync(new string('a', 998) + "\r\n" + new string('b', 999) + "\r\n.\r\n");
        Assert.Equal("500 5.5.6 Message has a line longer than allowed", (await client.ReadReplyAsync()).ToString());
        Assert.Empty(server.Hooks.Messages);
        // A 1000-octet line (with CRLF) is fine.
        await BeginDataAsync(client);
        Assert.Equal(250, (await client.CommandAsync(new string('a', 998) + "\r\n.")).Code);
    }

    [Fact]
    public async Task Text_line_tolerance_admits_longer_lines()
    {
        var (server, client) = await OpenAsync(o => o with { TextLineTolerance = 200 });
        await using var _ = server; await using var __ = client;
        await BeginDataAsync(client);
        Assert.Equal(250, (await client.CommandAsync(new string('a', 1198) + "\r\n.")).Code);
        await BeginDataAsync(client);
        Assert.Equal(500, (await client.CommandAsync(new string('a', 1199) + "\r\n.")).Code);
    }

    [Fact]
    public async Task Endless_data_line_is_discarded_and_refused()
    {
        var (server, client) = await OpenAsync(o => o);
        await using var _ = server; await using var __ = client;
        await BeginDataAsync(client);
        var chunk = Encoding.ASCII.GetBytes(new string('A', 64 * 1024 - 1) + "\r");
        for (var i = 0; i < 32; i++) await client.SendAsync(chunk); // CRs that never become CRLF
        await client.SendAsync("\n.\r\n");
        Assert.Equal(500, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
    }

    [Fact]
    public async Task Message_over_the_size_limit_gets_552_and_nothing_is_stored()
    {
        var (server, client) = await OpenAsync(o => o with { MaxMessageSize = 10_000 });
        await using var _ = server; await using var __ = client;
        Assert.Contains("SIZE 10000", (await client.CommandAsync("EHLO again.example")).Lines);
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.CommandAsync("MAIL FROM:<a@s.example> SIZE=10001")).ToString());
        await BeginDataAsync(client);
        var line = new string('x', 98) + "\r\n";
        await client.SendAsync(string.Concat(Enumerable.Repeat(line, 101)) + ".\r\n");
        Assert.Equal("552 5.3.4 Message size exceeds fixed maximum message size", (await client.ReadReplyAsync()).ToString());
        Assert.Empty(server.Hooks.Messages);
        // Exactly at the limit is accepted.
        await BeginDataAsync(client);
        await client.SendAsync(string.Concat(Enumerable.Repeat(line, 100)) + ".\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(10_000, Assert.Single(server.Hooks.Messages).Body.Length);
    }

    [Fact]
    public async Task Bdat_over_the_size_limit_gets_552_and_is_consumed()
    {
        var (server, client) = await OpenAsync(o => o with { MaxMessageSize = 1000 });
        await using var _ = server; await using var __ = client;
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.SendAsync("BDAT 600\r\n" + new string('a', 600));
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        await client.SendAsync("BDAT 600\r\n" + new string('b', 600));
        Assert.Equal(552, (await client.ReadReplyAsync()).Code);
        await client.SendAsync("BDAT 10 LAST\r\n" + new string('c', 10));
        Assert.Equal(552, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("NOOP")).Code); // in sync after the discarded chunks
        Assert.Empty(server.Hooks.Messages);
    }

    [Fact]
    public async Task Recipients_over_the_limit_get_452()
    {
        var (server, client) = await OpenAsync(o => o with { MaxRecipients = 3 });
        await using var _ = server; await using var __ = client;
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        for (var i = 0; i < 3; i++) Assert.Equal(250, (await client.CommandAsync($"RCPT TO:<r{i}@r.example>")).Code);
        Assert.Equal("452 4.5.3 Too many recipients", (await client.CommandAsync("RCPT TO:<r3@r.example>")).ToString());
        Assert.Equal(354, (await client.CommandAsync("DATA")).Code);
        Assert.Equal(250, (await client.CommandAsync("x\r\n.")).Code);
        Assert.Equal(3, Assert.Single(server.Hooks.Messages).Transaction.Recipients.Count);
    }

    [Fact]
    public async Task Too_many_bad_commands_end_the_session_with_421()
    {
        var (server, client) = await OpenAsync(o => o with { MaxBadCommands = 3 });
        await using var _ = server; await using var __ = client;
        Assert.Equal(500, (await client.CommandAsync("XYZZY")).Code);
        Assert.Equal(503, (await client.CommandAsync("DATA")).Code);
        await client.SendLineAsync("MAIL FROM:broken");
        Assert.Equal(501, (await client.ReadReplyAsync()).Code);
        Assert.Equal("421 4.7.0 Too many errors, closing transmission channel", (await client.ReadReplyAsync()).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task An_auth_refused_by_the_hook_gets_its_reply_before_any_challenge_and_counts_as_an_error()
    {
        await using var server = await TestSmtpServer.StartAsync(o => o with { MaxBadCommands = 3 }, allowAuthWithoutTls: true);
        server.Hooks.AuthRefusal = new ActorGateway.Smtp.Protocol.SmtpReply(454, "4.7.0", "Too many failed logins from 127.0.0.1, try again later");
        await using var client = await server.OpenSessionAsync();
        Assert.Equal("454 4.7.0 Too many failed logins from 127.0.0.1, try again later", (await client.CommandAsync("AUTH LOGIN")).ToString());
        Assert.Equal(454, (await client.CommandAsync("AUTH PLAIN")).Code);
        await client.SendLineAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0alice\0secret")));
        Assert.Equal(454, (await client.ReadReplyAsync()).Code);
        Assert.Equal("421 4.7.0 Too many errors, closing transmission channel", (await client.ReadReplyAsync()).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Too_many_commands_without_mail_end_the_session_with_421()
    {
        var (server, client) = await OpenAsync(o => o with { MaxJunkCommands = 5 });
        await using var _ = server; await using var __ = client;
        // EHLO counted once already.
        for (var i = 0; i < 4; i++) Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
        Assert.Equal("421 4.7.0 Too many commands without a mail transaction, closing transmission channel", (await client.CommandAsync("RSET")).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Accepted_mail_resets_the_junk_count()
    {
        var (server, client) = await OpenAsync(o => o with { MaxJunkCommands = 3 });
        await using var _ = server; await using var __ = client;
        for (var round = 0; round < 3; round++)
        {
            Assert.Equal(250, (await client.CommandAsync("NOOP")).Code);
            await BeginDataAsync(client);
            Assert.Equal(250, (await client.CommandAsync("x\r\n.")).Code);
            Assert.Equal(250, (await client.CommandAsync("RSET")).Code);
        }
    }

    [Fact]
    public async Task Idle_client_gets_421_after_the_command_timeout()
    {
        var (server, client) = await OpenAsync(o => o with { CommandTimeout = TimeSpan.FromSeconds(1) });
        await using var _ = server; await using var __ = client;
        Assert.Equal("421 4.4.2 Timeout exceeded, closing transmission channel", (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Client_dripping_a_command_is_dropped_at_the_command_timeout()
    {
        var (server, client) = await OpenAsync(o => o with { CommandTimeout = TimeSpan.FromSeconds(1) });
        await using var _ = server; await using var __ = client;
        var started = DateTime.UtcNow;
        try
        {
            foreach (var c in "NOOP NOOP NOOP NOOP")
            {
                await client.SendAsync(c.ToString());
                await Task.Delay(200);
            }
        }
        catch (IOException) { /* the server may already have closed */ }
        Assert.Equal(421, (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).Code);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3.5));
    }

    [Fact]
    public async Task Client_silent_in_data_gets_421_after_the_data_timeout()
    {
        var (server, client) = await OpenAsync(o => o with { DataTimeout = TimeSpan.FromSeconds(1) });
        await using var _ = server; await using var __ = client;
        await BeginDataAsync(client);
        await client.SendAsync("Subject: half\r\n\r\nhalf a mess");
        Assert.Equal("421 4.4.2 Timeout exceeded, closing transmission channel", (await client.ReadReplyAsync(TimeSpan.FromSeconds(5))).ToString());
        Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(server.Hooks.Messages);
    }

    [Fact]
    public async Task Connections_over_the_total_limit_get_421()
    {
        var server = await TestSmtpServer.StartAsync(o => o with { MaxConnections = 2, EvictIdleAfter = null }); // no room made
        await using var _ = server;
        await using var a = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await using var b = await RawSmtpClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await a.ReadReplyAsync()).Code);
        Assert.Equal(220, (await b.ReadReplyAsync()).Code);
        await using (var c = await RawSmtpClient.ConnectAsync(server.EndPoint))
        {
            Assert.Equal("421 4.7.0 Too many connections, try again later", (await c.ReadReplyAsync()).ToString());
            Assert.True(await c.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
        }
        Assert.Equal(221, (await a.CommandAsync("QUIT")).Code);
        Assert.True(await a.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
        await WaitForAsync(() => server.Host.Server.OpenSessions == 1);
        await using var d = await RawSmtpClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await d.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Connections_over_the_per_client_limit_get_421_while_others_are_served()
    {
        var server = await TestSmtpServer.StartAsync(o => o with { MaxConnectionsPerClient = 2 }) ;
        await using var _ = server;
        var from1 = IPAddress.Parse("127.0.0.1");
        await using var a = await RawSmtpClient.ConnectAsync(server.EndPoint, from: from1);
        await using var b = await RawSmtpClient.ConnectAsync(server.EndPoint, from: from1);
        Assert.Equal(220, (await a.ReadReplyAsync()).Code);
        Assert.Equal(220, (await b.ReadReplyAsync()).Code);
        await using var c = await RawSmtpClient.ConnectAsync(server.EndPoint, from: from1);
        Assert.Equal("421 4.7.0 Too many connections from your address, try again later", (await c.ReadReplyAsync()).ToString());
        await using var other = await RawSmtpClient.ConnectAsync(server.EndPoint, from: IPAddress.Parse("127.0.0.2"));
        Assert.Equal(220, (await other.ReadReplyAsync()).Code);
    }

    [Fact]
    public async Task Client_vanishing_mid_data_stores_nothing_and_frees_its_slot()
    {
        var server = await TestSmtpServer.StartAsync(o => o with { MaxConnections = 1 });
        await using var _ = server;
        await using (var client = await RawSmtpClient.ConnectAsync(server.EndPoint))
        {
            await client.ReadReplyAsync();
            await client.CommandAsync("EHLO c.example");
            await BeginDataAsync(client);
            await client.SendAsync("Subject: cut\r\n\r\npartial\r\n");
        }
        await WaitForAsync(() => server.Host.Server.OpenSessions == 0);
        Assert.Empty(server.Hooks.Messages);
        await using var next = await RawSmtpClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await next.ReadReplyAsync()).Code);
    }

    internal static async Task WaitForAsync(Func<bool> condition, int seconds = 10)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("condition not reached");
            await Task.Delay(20);
        }
    }
}
